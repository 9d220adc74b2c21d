"""The seed: a bootable ISO / USB image that starts Strata on the first machine of an
empty datacenter (docs/seed.md). ``rootfs`` makes its live system from Debian packages,
``image`` the hybrid image, ``medium`` reads an image's payload back."""
