"""Entry-point module of litellm-accel-routing: registers its implementation classes."""
