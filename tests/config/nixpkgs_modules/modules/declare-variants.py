# NixOS's `moduleType` module argument is `types.module_type` in declos (options are
# declared before module arguments exist): the declaring evaluation's own modules.
from declos.config import Option, types

options = {"variants": Option(types.lazy_attrs_of(types.module_type), default={})}
