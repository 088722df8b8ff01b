"""Sources, sinks and recordings: the only code (with the tracker) that touches devices and files of frames."""
