"""Installing the Debian packages does not leave system RabbitMQ, epmd, Prometheus, PostgreSQL or slapd enabled at boot
(issue 21, item 7). policy-rc.d only stops the postinst scripts from starting them now; the links they make for
the next boot are undone by infra.stack.disable_at_boot, tested here on a root laid out as those scripts leave it
(the layout of a Debian 12 machine after `apt-get install rabbitmq-server prometheus postgresql`)."""

from __future__ import annotations

import os
from pathlib import Path

from infra.stack import APT_PACKAGES, BOOT_SERVICES, disable_at_boot

WANTS = {"multi-user.target.wants": ["rabbitmq-server.service", "epmd.service", "prometheus.service",
                                     "postgresql.service", "e2scrub_reap.service"],
         "sockets.target.wants": ["epmd.socket"],
         "getty.target.wants": ["getty@tty1.service"]}
SYSV = ["S01rabbitmq-server", "S01prometheus", "S01postgresql", "S01dbus", "S01slapd", "K01nfs-common"]


def _postinst_layout(root: Path) -> None:
    for wants, units in WANTS.items():
        (root / "etc/systemd/system" / wants).mkdir(parents=True)
        for unit in units:
            os.symlink(f"/lib/systemd/system/{unit}", root / "etc/systemd/system" / wants / unit)
    for level in "2345":
        (root / f"etc/rc{level}.d").mkdir(parents=True)
        for name in SYSV:
            os.symlink(f"../init.d/{name[3:]}", root / f"etc/rc{level}.d" / name)


def test_the_service_packages_are_disabled_at_boot_and_nothing_else(tmp_path):
    _postinst_layout(tmp_path)
    units = [u for p in APT_PACKAGES for u in BOOT_SERVICES.get(p, [])]
    assert set(units) == {"rabbitmq-server.service", "epmd.service", "epmd.socket", "prometheus.service",
                          "postgresql.service", "slapd.service"}
    changed = disable_at_boot(units, root=tmp_path)
    wants = {str(p.relative_to(tmp_path / "etc/systemd/system")) for p in (tmp_path / "etc/systemd/system").rglob("*")
             if p.is_symlink()}
    assert wants == {"multi-user.target.wants/e2scrub_reap.service", "getty.target.wants/getty@tty1.service"}
    for level in "2345":
        names = {p.name for p in (tmp_path / f"etc/rc{level}.d").iterdir()}
        assert names == {"K01rabbitmq-server", "K01prometheus", "K01postgresql", "S01dbus", "K01slapd", "K01nfs-common"}
        assert os.readlink(tmp_path / f"etc/rc{level}.d/K01prometheus") == "../init.d/prometheus"
    assert len(changed) == 5 + 4 * 4
    assert disable_at_boot(units, root=tmp_path) == []   # a second run finds nothing to do
