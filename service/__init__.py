"""Running the platform as a service: availability measured, incidents, planned maintenance, the public status page."""
