"""Join scene files and write the result with moviepy, as a moviepy-based bot would.

    .bench-moviepy/bin/python bench/moviepy_join.py OUT SCENE...

Run by bench/merge.py with the interpreter of its own environment (moviepy 2.2.1 needs
Pillow < 12; dreambot's is newer, so moviepy cannot share dreambot's environment). Prints
the seconds from opening the first scene to the written file, and nothing else.
"""

from __future__ import annotations

import sys
import time

from moviepy import VideoFileClip, concatenate_videoclips


def main(out: str, scenes: list[str]) -> None:
    started = time.perf_counter()
    clips = [VideoFileClip(path) for path in scenes]
    joined = concatenate_videoclips(clips)
    # moviepy's defaults but for the codecs a chat app plays: libx264 (preset medium) and AAC.
    joined.write_videofile(out, codec="libx264", audio_codec="aac", logger=None)
    for clip in clips:
        clip.close()
    print(f"{time.perf_counter() - started:.3f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
