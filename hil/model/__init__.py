"""The network, its loss, training and evaluation."""
