"""Unit comparison and the stop/start/restart/reload decisions (switch-to-configuration rules)."""

from __future__ import annotations

from pathlib import Path

import pytest

from declos.activation.unit_plan import Planner
from declos.activation.units import Comparison, compare, load_unit, parse_text

BASE = "[Unit]\nDescription=web\n\n[Service]\nExecStart=/bin/web\n\n[Install]\nWantedBy=multi-user.target\n"


def cmp(old: str, new: str) -> Comparison:
    return compare(parse_text(old), parse_text(new))


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        (BASE, Comparison.EQUAL),
        (BASE.replace("Description=web", "Description=the web"), Comparison.EQUAL),
        (
            BASE.replace("Description=web", "Description=web\nDocumentation=man:web(8)"),
            Comparison.EQUAL,
        ),
        (BASE.replace("WantedBy=multi-user.target", "WantedBy=graphical.target"), Comparison.EQUAL),
        (BASE.replace("/bin/web", "/bin/web2"), Comparison.RESTART),
        (
            BASE.replace("[Service]\n", "[Service]\nExecReload=/bin/kill -HUP $MAINPID\n"),
            Comparison.RELOAD,
        ),
        (
            BASE.replace(
                "Description=web", "Description=web\nX-Reload-Triggers=/declos/store/aaa-x"
            ),
            Comparison.RELOAD,
        ),
        (
            BASE.replace(
                "Description=web", "Description=web\nX-Restart-Triggers=/declos/store/aaa-x"
            ),
            Comparison.RESTART,
        ),
        (
            BASE.replace("Description=web", "Description=web\nAfter=network.target"),
            Comparison.RESTART,
        ),
        (BASE + "[Socket]\nListenStream=80\n", Comparison.RESTART),
        (
            "# a comment\n" + BASE.replace("ExecStart=/bin/web", "ExecStart=/bin/web \\\n"),
            Comparison.EQUAL,
        ),
    ],
)
def test_compare(new, expected):
    assert cmp(BASE, new) is expected


def test_exec_reload_removed_is_equal_and_changed_is_reload():
    with_reload = BASE.replace("[Service]\n", "[Service]\nExecReload=/bin/a\n")
    assert cmp(with_reload, BASE) is Comparison.EQUAL
    assert cmp(with_reload, with_reload.replace("/bin/a", "/bin/b")) is Comparison.RELOAD


def test_mount_options_reload_other_keys_restart():
    m = "[Mount]\nWhat=/dev/vdb\nWhere=/data\nOptions=defaults\n"
    assert cmp(m, m.replace("defaults", "noatime")) is Comparison.RELOAD
    assert cmp(m, m.replace("/dev/vdb", "/dev/vdc")) is Comparison.RESTART


def test_dropins_merge_and_empty_value_resets(tmp_path: Path):
    (tmp_path / "a.service").write_text("[Service]\nExecStart=/bin/a\nEnvironment=X=1\n")
    (tmp_path / "a.service.d").mkdir()
    (tmp_path / "a.service.d" / "10.conf").write_text("[Service]\nEnvironment=Y=2\n")
    (tmp_path / "a.service.d" / "20.conf").write_text("[Service]\nExecStart=\nExecStart=/bin/b\n")
    unit = load_unit(tmp_path, "a.service")
    assert unit == {"Service": {"ExecStart": ["/bin/b"], "Environment": ["X=1", "Y=2"]}}
    (tmp_path / "t@.service").write_text("[Service]\nExecStart=/bin/t %i\n")
    assert load_unit(tmp_path, "t@one.service") == {"Service": {"ExecStart": ["/bin/t %i"]}}


class Pair:
    """Old and new closures' unit dirs, for planner tests."""

    def __init__(self, tmp: Path) -> None:
        self.old = tmp / "old"
        self.new = tmp / "new"
        self.old.mkdir()
        self.new.mkdir()

    def both(self, name: str, old: str, new: str) -> None:
        (self.old / name).write_text(old)
        (self.new / name).write_text(new)

    def wants(self, which: Path, target: str, unit: str) -> None:
        d = which / f"{target}.wants"
        d.mkdir(exist_ok=True)
        (d / unit).symlink_to(f"../{unit}")

    def plan(self, active: dict[str, str], resume: set[str] | None = None):
        return Planner(self.old, self.new, active).plan(resume)


@pytest.fixture
def pair(tmp_path: Path) -> Pair:
    return Pair(tmp_path)


def _changed(extra: str = "", section: str = "Service") -> tuple[str, str]:
    old = f"[Unit]\nDescription=x\n[Service]\nExecStart=/bin/a\n{extra if section == 'Service' else ''}"
    if section == "Unit":
        old = f"[Unit]\nDescription=x\n{extra}[Service]\nExecStart=/bin/a\n"
    return old, old.replace("/bin/a", "/bin/b")


def test_changed_service_is_stopped_then_started(pair):
    pair.both("a.service", *_changed())
    p = pair.plan({"a.service": "active"})
    assert (p.stop, p.start, p.restart, p.reload, p.skip) == (
        {"a.service"},
        {"a.service"},
        set(),
        set(),
        set(),
    )


def test_stop_if_changed_false_restarts(pair):
    pair.both("a.service", *_changed("X-StopIfChanged=false\n"))
    p = pair.plan({"a.service": "active"})
    assert (p.stop, p.start, p.restart) == (set(), set(), {"a.service"})


def test_restart_if_changed_false_is_skipped(pair):
    pair.both("a.service", *_changed("X-RestartIfChanged=false\n"))
    p = pair.plan({"a.service": "active"})
    assert (p.stop, p.restart, p.skip) == (set(), set(), {"a.service"})


def test_refuse_manual_stop_is_skipped(pair):
    pair.both("a.service", *_changed("RefuseManualStop=true\n", section="Unit"))
    assert pair.plan({"a.service": "active"}).skip == {"a.service"}


def test_reload_if_changed_reloads(pair):
    pair.both("a.service", *_changed("X-ReloadIfChanged=true\n"))
    p = pair.plan({"a.service": "active"})
    assert (p.stop, p.restart, p.reload) == (set(), set(), {"a.service"})


def test_reload_triggers_reload_and_unchanged_is_untouched(pair):
    pair.both(
        "a.service",
        "[Unit]\nX-Reload-Triggers=/declos/store/a\n[Service]\nExecStart=/bin/a\n",
        "[Unit]\nX-Reload-Triggers=/declos/store/b\n[Service]\nExecStart=/bin/a\n",
    )
    pair.both("same.service", "[Service]\nExecStart=/bin/s\n", "[Service]\nExecStart=/bin/s\n")
    p = pair.plan({"a.service": "active", "same.service": "active"})
    assert p.reload == {"a.service"}
    assert "same.service" not in p.stop | p.start | p.restart | p.reload | p.start_new


def test_inactive_changed_unit_is_left_alone(pair):
    pair.both("a.service", *_changed())
    p = pair.plan({"a.service": "inactive"})
    assert p.empty() and not p.skip


def test_removed_unit_is_stopped_unless_stop_on_removal_false(pair):
    (pair.old / "gone.service").write_text("[Service]\nExecStart=/bin/g\n")
    (pair.old / "keep.service").write_text(
        "[Unit]\nX-StopOnRemoval=false\n[Service]\nExecStart=/bin/k\n"
    )
    p = pair.plan({"gone.service": "active", "keep.service": "active", "ssh.service": "active"})
    assert p.stop == {"gone.service"}, "ssh.service is not ours and never touched"


def test_targets_sockets_paths_and_mounts(pair):
    pair.both("app.target", "[Unit]\nDescription=t\n", "[Unit]\nDescription=t\n")
    pair.both("multi-user.target", "[Unit]\nX=1\n", "[Unit]\nX=2\n")
    pair.both("a.socket", "[Socket]\nListenStream=1\n", "[Socket]\nListenStream=2\n")
    pair.both("a.path", "[Path]\nPathExists=/a\n", "[Path]\nPathExists=/b\n")
    pair.both(
        "data.mount",
        "[Mount]\nWhat=/dev/vdb\nWhere=/data\n",
        "[Mount]\nWhat=/dev/vdc\nWhere=/data\n",
    )
    pair.both("-.mount", "[Mount]\nWhat=/dev/vda\nWhere=/\n", "[Mount]\nWhat=/dev/vdz\nWhere=/\n")
    pair.both("t.timer", "[Timer]\nOnCalendar=daily\n", "[Timer]\nOnCalendar=hourly\n")
    p = pair.plan(
        {
            u: "active"
            for u in (
                "app.target",
                "multi-user.target",
                "a.socket",
                "a.path",
                "data.mount",
                "-.mount",
                "t.timer",
            )
        }
    )
    assert p.start_silent == {"app.target"}
    assert p.restart == {"data.mount", "t.timer"}
    assert p.reload == {"-.mount"}, "/ is never unmounted"
    assert p.stop == set() and p.start == set()


def test_socket_activated_service_restarts_its_socket(pair):
    pair.both("a.service", *_changed())
    pair.both("a.socket", "[Socket]\nListenStream=1\n", "[Socket]\nListenStream=1\n")
    p = pair.plan({"a.service": "active", "a.socket": "active"})
    assert p.stop == {"a.service", "a.socket"}
    assert p.start == {"a.socket"}


def test_new_unit_wanted_by_active_target_is_started(pair):
    (pair.new / "new.service").write_text("[Service]\nExecStart=/bin/n\n")
    pair.wants(pair.new, "multi-user.target", "new.service")
    (pair.new / "lazy.service").write_text("[Service]\nExecStart=/bin/l\n")
    pair.wants(pair.new, "never.target", "lazy.service")
    (pair.old / "stopped.service").write_text("[Service]\nExecStart=/bin/s\n")
    (pair.new / "stopped.service").write_text("[Service]\nExecStart=/bin/s\n")
    pair.wants(pair.old, "multi-user.target", "stopped.service")
    pair.wants(pair.new, "multi-user.target", "stopped.service")
    p = pair.plan({"multi-user.target": "active"})
    assert p.start_new == {"new.service"}, "an admin-stopped unchanged unit stays stopped"


def test_interrupted_run_resumes_its_starts(pair):
    pair.both("a.service", *_changed())
    p = pair.plan({}, resume={"a.service"})
    assert p.start == {"a.service"}


def test_dropin_only_unit_of_the_distribution(pair):
    """ssh.service is Debian's; the closure only adds ssh.service.d/declos.conf."""
    for which, trig in ((pair.old, "a"), (pair.new, "b")):
        (which / "ssh.service.d").mkdir()
        (which / "ssh.service.d" / "declos.conf").write_text(
            f"[Unit]\nX-Restart-Triggers=/declos/store/{trig}\n[Service]\nX-StopIfChanged=false\n"
        )
    p = pair.plan({"ssh.service": "active"})
    assert (p.restart, p.stop) == ({"ssh.service"}, set())
    (pair.new / "ssh.service.d" / "declos.conf").unlink()
    (pair.new / "ssh.service.d").rmdir()
    p = pair.plan({"ssh.service": "active"})
    assert p.stop == {"ssh.service"} and p.start == {"ssh.service"}, (
        "drop-in removed: restarted, not left stopped"
    )
