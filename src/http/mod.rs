//! HTTP adapter: the hyper server and its routes.
