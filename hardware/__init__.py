"""Device layer: the card reader (pyscard over pcscd), the social security card application, its emulator, speech."""
