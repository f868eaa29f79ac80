"""Stage 4: light curves, fits and the transmission spectrum."""
