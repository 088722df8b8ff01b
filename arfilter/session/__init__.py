"""The frame loop, its stages' protocols, the operator's live controls and the presenter."""
