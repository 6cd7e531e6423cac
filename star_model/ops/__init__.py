"""Pure tensor functions, no module state: the selective scan, OTAM and Bi-MHM matching, frame sampling."""
