"""One offline dream per language: how long the video is, how fast it is read, how long it took.

    python bench/languages.py [--only ru,ja] [--width 640 --height 360]

Each story (four or five sentences, a fable in its own language and script) goes through
the real engine with the offline providers: the language is detected, the story is cut by
its script's rules, espeak-ng reads it in its own voice (or the scene is silent when the
voice cannot speak it, and the result says so), captions are drawn and ffmpeg assembles.
The speech rate is the story's letters (graphemes, no spaces or punctuation) per second of
video; a voice spelling letters out, as the English voice did for every other script,
shows up as a rate far below its script's. The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.figures import machine, report
from engine import (
    Action,
    Books,
    DreamResult,
    Engine,
    EngineConfig,
    JobFailure,
    JobTicket,
    QuotaPolicy,
)
from engine.config import Limits, RenderConfig
from engine.language import detect_language
from engine.media.ffmpeg import FFmpeg, locate_ffmpeg
from engine.progress import ProgressSnapshot
from engine.providers.local import local_providers
from engine.segment import graphemes, is_wordlike

STORIES = {
    "en": "A lighthouse keeper lived alone on a rocky island. One night a great storm rolled "
    "in from the sea. The keeper climbed the tower and lit the lamp. By morning the storm "
    "had become his friend.",
    "es": "Un farero vivía solo en una isla rocosa. Una noche llegó del mar una gran tormenta. "
    "El farero subió a la torre y encendió la lámpara. Al amanecer, la tormenta ya era su "
    "amiga.",
    "pt": "Um faroleiro vivia sozinho numa ilha rochosa. Certa noite, uma grande tempestade "
    "chegou do mar. O faroleiro subiu a torre e acendeu a lâmpada. De manhã, a tempestade "
    "já era sua amiga.",
    "fr": "Un gardien de phare vivait seul sur une île rocheuse. Une nuit, une grande tempête "
    "arriva de la mer. Le gardien monta dans la tour et alluma la lampe. Au matin, la "
    "tempête était devenue son amie.",
    "de": "Ein Leuchtturmwärter lebte allein auf einer felsigen Insel. Eines Nachts zog ein "
    "großer Sturm vom Meer heran. Der Wärter stieg auf den Turm und zündete die Lampe an. "
    "Am Morgen war der Sturm sein Freund geworden.",
    "ru": "Смотритель маяка жил один на скалистом острове. Однажды ночью с моря пришла "
    "большая буря. Смотритель поднялся на башню и зажёг лампу. К утру буря стала его "
    "другом.",
    "ar": "عاش حارس منارة وحيدًا على جزيرة صخرية. في إحدى الليالي جاءت عاصفة كبيرة من البحر. "
    "صعد الحارس إلى البرج وأشعل المصباح. وفي الصباح صارت العاصفة صديقته.",
    "fa": "نگهبان فانوس دریایی تنها در جزیره‌ای صخره‌ای زندگی می‌کرد. شبی طوفانی بزرگ از دریا "
    "آمد. نگهبان از برج بالا رفت و چراغ را روشن کرد. تا صبح طوفان دوست او شده بود.",
    "hi": "एक प्रकाशस्तंभ का रखवाला एक चट्टानी द्वीप पर अकेला रहता था। एक रात समुद्र से एक बड़ा "
    "तूफ़ान आया। रखवाला मीनार पर चढ़ा और दीपक जलाया। सुबह तक तूफ़ान उसका दोस्त बन गया था।",
    "id": "Seorang penjaga mercusuar tinggal sendirian di sebuah pulau berbatu. Suatu malam "
    "badai besar datang dari laut. Penjaga itu naik ke menara dan menyalakan lampu. Pada pagi "
    "hari badai itu telah menjadi sahabatnya.",
    "tr": "Bir deniz feneri bekçisi kayalık bir adada yalnız yaşarmış. Bir gece denizden büyük "
    "bir fırtına gelmiş. Bekçi kuleye çıkmış ve lambayı yakmış. Sabaha karşı fırtına onun "
    "dostu olmuş.",
    "vi": "Một người gác hải đăng sống một mình trên hòn đảo đá. Một đêm, cơn bão lớn kéo đến "
    "từ biển. Người gác leo lên tháp và thắp đèn. Đến sáng, cơn bão đã trở thành bạn của ông.",
    "ja": "灯台守は岩だらけの島で一人で暮らしていました。ある夜、海から大きな嵐がやって来ました。"
    "灯台守は塔に登り、灯りをともしました。朝になると、嵐は彼の友達になっていました。",
    "zh": "一个灯塔看守人独自住在一座岩石小岛上。一天夜里，一场大风暴从海上袭来。"
    "看守人爬上塔楼，点亮了灯。到了早上，风暴已经成了他的朋友。",
    "ko": "등대지기는 바위섬에서 혼자 살았습니다. 어느 날 밤 바다에서 큰 폭풍이 몰려왔습니다. "
    "등대지기는 탑에 올라가 등불을 켰습니다. 아침이 되자 폭풍은 그의 친구가 되었습니다.",
    "th": "ผู้เฝ้าประภาคารอาศัยอยู่คนเดียวบนเกาะหิน คืนหนึ่งพายุใหญ่พัดมาจากทะเล "
    "ผู้เฝ้าปีนขึ้นไปบนหอคอยและจุดตะเกียง พอรุ่งเช้าพายุก็กลายเป็นเพื่อนของเขา",
    "he": "שומר מגדלור חי לבדו על אי סלעי. לילה אחד הגיעה סערה גדולה מן הים. השומר טיפס "
    "למגדל והדליק את המנורה. עד הבוקר הפכה הסערה לחברה שלו.",
    "el": "Ένας φαροφύλακας ζούσε μόνος σε ένα βραχώδες νησί. Μια νύχτα μια μεγάλη καταιγίδα "
    "ήρθε από τη θάλασσα. Ο φύλακας ανέβηκε στον πύργο και άναψε τη λάμπα. Ως το πρωί η "
    "καταιγίδα είχε γίνει φίλη του.",
    "bn": "এক বাতিঘরের রক্ষক একটি পাথুরে দ্বীপে একা থাকত। এক রাতে সমুদ্র থেকে এক বড় ঝড় এল। "
    "রক্ষক মিনারে উঠে বাতি জ্বালাল। সকালের মধ্যে ঝড় তার বন্ধু হয়ে গেল।",
    "ta": "ஒரு கலங்கரை விளக்கக் காவலர் ஒரு பாறைத் தீவில் தனியாக வாழ்ந்தார். ஒரு இரவு கடலில் "
    "இருந்து பெரிய புயல் வந்தது. காவலர் கோபுரத்தில் ஏறி விளக்கை ஏற்றினார். காலையில் புயல் "
    "அவருடைய நண்பனாகிவிட்டது.",
}


@dataclass
class QuietSurface:
    """Takes what the engine shows and keeps nothing: only the result matters here."""

    async def acknowledge(self, ticket: JobTicket) -> None:
        """Nothing to show."""

    async def show_preview(self, preview: Path) -> None:
        """Nothing to show."""

    async def show_progress(self, progress: ProgressSnapshot) -> None:
        """Nothing to show."""

    async def deliver_final(self, result: DreamResult) -> None:
        """Nothing to show."""

    async def fail(self, failure: JobFailure) -> None:
        """Nothing to show."""

    async def offer_actions(self, actions: Sequence[Action]) -> None:
        """Nothing to show."""


def letters(text: str) -> int:
    """Graphemes that are said: no spaces, punctuation or emoji."""
    return sum(1 for g in graphemes(text) if is_wordlike(g))


async def dream(engine: Engine, story: str) -> tuple[DreamResult, float]:
    started = time.monotonic()
    request = await engine.admit(story, requester="bench:languages")
    result = await engine.dream(request, QuietSurface())
    return result, time.monotonic() - started


async def main(args: argparse.Namespace) -> dict[str, object]:
    chosen = args.only.split(",") if args.only else list(STORIES)
    exe = locate_ffmpeg()
    figures: dict[str, object] = {
        "machine": machine(),
        "espeak-ng": shutil.which("espeak-ng") or "not installed (every scene silent)",
    }
    with tempfile.TemporaryDirectory(prefix="dreambot-languages-") as folder:
        render = RenderConfig(width=args.width, height=args.height)
        config = EngineConfig(work_dir=Path(folder) / "work", render=render, limits=Limits())
        ffmpeg = FFmpeg(exe, max_procs=config.limits.ffmpeg, timeout_s=120)
        books = await Books.open(Path(folder) / "books.sqlite3", QuotaPolicy.unlimited())
        engine = Engine(config, local_providers(ffmpeg, render), ffmpeg, books=books)
        try:
            for tag in chosen:
                story = STORIES[tag]
                detected = await asyncio.to_thread(detect_language, story)
                result, wall = await dream(engine, story)
                spoken = sum(scene.spoken for scene in result.scenes)
                figures[tag] = {
                    "detected": detected.tag,
                    "video_s": round(result.duration_s, 2),
                    "letters_per_s": round(letters(story) / result.duration_s, 1),
                    "wall_s": round(wall, 2),
                    "spoken_scenes": f"{spoken}/{len(result.scenes)}",
                    "notices": [str(n) for n in result.notices],
                }
        finally:
            await books.close()
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="comma-separated tags, e.g. ru,ja")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    report("languages.py", asyncio.run(main(parser.parse_args())))
