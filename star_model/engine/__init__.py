"""What labeling does: frame features and their cache, the prototype bank, segmentation, metrics, and the
policies the command line and the app share (:mod:`.session`)."""
