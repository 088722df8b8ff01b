"""Pictures the product draws without a camera: text rendering and the status cards."""
