"""Where processes actually run: headless children, tmux panes, WezTerm panes.

Each backend implements the small `Backend` protocol in `base`; the runtime never knows which.
"""
