"""Media intake: a requester's ZIP (images, audio, manifest, gold, pricing) made a checked batch."""
