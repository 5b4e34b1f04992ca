"""Measuring what we made from the finished media alone, with tools independent of the makers."""
