"""The ground floor: what every other package of ours may import, importing none of them.

Money, the clock, the UTC column type, database URLs, the label vocabularies and ports;
``python -m ground.layers`` checks that the rest of the house keeps to its layers.
"""
