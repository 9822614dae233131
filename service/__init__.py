"""Running the platform as a service: availability measured, planned maintenance, the public status page."""
