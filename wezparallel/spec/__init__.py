"""The desired state: workspace files, their schema, and the frozen model they load into.

Pure except for reading files. Nothing here touches processes, sockets, terminals or the clock.
"""
