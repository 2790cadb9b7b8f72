"""The speech endpoint's built-in voices (the API reference), importable without the SDK.

tts-1 and tts-1-hd speak the first nine, the newer models all of them.
"""

TTS1_VOICES = ("alloy", "ash", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer")
VOICES = (*TTS1_VOICES, "ballad", "verse", "marin", "cedar")
