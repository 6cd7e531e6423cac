"""Examples on disk: action folders, data sets and split lists, the label CSV files, episode plans."""
