"""mongo-seed: loads realistic sample predictions so that a local run has something to show."""
