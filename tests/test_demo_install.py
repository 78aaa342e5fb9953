"""``make demo`` installs the stack's missing Debian packages where it can (root, apt-get),
saying so in one line, and says the one command to run where it cannot; with everything on
PATH it does nothing. No package is installed here: apt-get is a recording fake."""

from __future__ import annotations

from pathlib import Path

from pitwatch.demo import PACKAGE_BINARIES, install_packages, missing_packages


class FakeApt:
    """apt-get that "installs" by putting the packages' binaries on the fake PATH."""

    def __init__(self, on_path: set[str], code: int = 0) -> None:
        self.on_path = on_path | {"apt-get"}
        self.code = code
        self.calls: list[list[str]] = []

    def which(self, name: str) -> str | None:
        return f"/usr/bin/{name}" if name in self.on_path else None

    def run(self, argv) -> int:
        self.calls.append(list(argv))
        if argv[:2] == ["apt-get", "install"] and self.code == 0:
            for package in argv[2:]:
                self.on_path |= set(PACKAGE_BINARIES.get(package, ()))
        return self.code


def test_nothing_is_installed_when_every_binary_is_on_path(tmp_path):
    apt = FakeApt({names[0] for names in PACKAGE_BINARIES.values()})
    said: list[str] = []
    assert install_packages(said.append, which=apt.which, is_root=True, run=apt.run,
                            policy=tmp_path / "policy-rc.d")  # fmt: skip
    assert apt.calls == [] and said == []


def test_as_root_with_apt_the_missing_packages_are_installed_in_one_line(tmp_path):
    apt = FakeApt({"prometheus"})
    said: list[str] = []
    policy = tmp_path / "policy-rc.d"
    ok = install_packages(said.append, which=apt.which, is_root=True, run=apt.run, policy=policy)
    assert ok and len(said) == 1 and said[0].startswith("installing prometheus-alertmanager")
    install = apt.calls[-1]
    assert install[:2] == ["apt-get", "install"] and "prometheus" not in install
    assert set(install) >= {"prometheus-node-exporter", "prometheus-postgres-exporter"}
    assert not policy.exists(), "the daemon-start hook is removed afterwards"
    assert missing_packages(apt.which) == []


def test_an_existing_policy_hook_is_left_alone(tmp_path):
    policy = tmp_path / "policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 0\n")
    apt = FakeApt(set())
    install_packages(lambda _: None, which=apt.which, is_root=True, run=apt.run, policy=policy)
    assert policy.read_text() == "#!/bin/sh\nexit 0\n"


def test_without_root_it_says_the_one_command_and_installs_nothing(tmp_path: Path):
    apt = FakeApt({"prometheus", "prometheus-alertmanager"})
    said: list[str] = []
    ok = install_packages(said.append, which=apt.which, is_root=False, run=apt.run,
                          policy=tmp_path / "policy-rc.d")  # fmt: skip
    assert not ok and apt.calls == []
    assert said == [
        "prometheus-node-exporter, prometheus-postgres-exporter not installed (not root); to "
        "see alerts, run: sudo apt-get install -y prometheus-node-exporter "
        "prometheus-postgres-exporter"
    ]


def test_a_failed_install_says_the_command_and_the_demo_goes_on(tmp_path):
    apt = FakeApt(set(), code=100)
    said: list[str] = []
    ok = install_packages(said.append, which=apt.which, is_root=True, run=apt.run,
                          policy=tmp_path / "policy-rc.d")  # fmt: skip
    assert not ok and said[-1].startswith("could not install them (apt-get exit 100)")
    assert "apt-get install -y prometheus " in said[-1]
