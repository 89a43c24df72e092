"""cinder-zol: a Cinder volume driver for ZFS on Linux over SSH and tgt."""
