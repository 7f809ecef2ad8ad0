"""Standard-library-only pieces shared by store, system and activation.

Everything here is shipped into a system closure with the activator (which runs on a
host that has only python3), so nothing in this package may import anything outside
the standard library or other `declos.common` modules. One definition of each piece:
store locations (`paths`), crash-safe file and link replacement (`atomic`), confined
path resolution (`safepath`), profiles and generations (`profiles`) and the system.json
contract (`closure_schema`).
"""
