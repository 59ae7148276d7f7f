"""The jobs API's rules (service), request/response models and presenters."""
