"""Built-in dataset exporters (entry-point group ``radcurate.exporters``)."""
