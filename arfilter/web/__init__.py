"""The campaign web page: builds a static site (the page, the looks, the face model and MediaPipe's web
runtime) that runs the same looks in a visitor's browser, so no picture ever leaves their phone."""
