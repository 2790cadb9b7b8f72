"""Picture words of other languages as the English words the motifs are named in.

The illustrator is told a prompt, not its language, so every table is searched for every
word. A word ending in ``*`` is a stem that matches any longer word (Russian and German
inflect and compound: "морем", "Leuchtturmwärter"); the others match whole words only,
since a short stem such as "mar" would also find "market". Arabic words are matched with
their article and one-letter proclitics taken off ("والبحر" is "and the sea"). Chinese,
Japanese and Thai write no spaces, so their words are found anywhere in the text.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import regex  # type: ignore[import-untyped]

# english word: the words in that language (``stem*`` for stems), per language tag.
_TABLES: dict[str, dict[str, str]] = {
    "es": {
        "sea": "mar mares océano océanos ola olas playa playas costa orilla",
        "island": "isla islas",
        "lighthouse": "faro faros farero",
        "tower": "torre torres",
        "ship": "barco barcos barca buque navío velero",
        "forest": "bosque bosques selva árbol árboles",
        "mountain": "montaña montañas monte cerro colina",
        "city": "ciudad ciudades calle calles",
        "village": "pueblo pueblos aldea aldeas",
        "house": "casa casas cabaña",
        "castle": "castillo castillos",
        "desert": "desierto desiertos dunas",
        "snow": "nieve invierno hielo",
        "night": "noche noches oscuridad",
        "moon": "luna",
        "star": "estrella estrellas",
        "morning": "mañana amanecer alba madrugada",
        "sun": "sol",
        "evening": "atardecer tarde anochecer",
        "storm": "tormenta tormentas tempestad lluvia",
        "fire": "fuego hoguera llama llamas",
        "garden": "jardín flores flor prado",
    },
    "pt": {
        "sea": "mar mares oceano oceanos onda ondas praia costa",
        "island": "ilha ilhas",
        "lighthouse": "farol faroleiro",
        "tower": "torre torres",
        "ship": "barco barcos navio navios",
        "forest": "floresta florestas bosque árvore árvores",
        "mountain": "montanha montanhas monte serra",
        "city": "cidade cidades rua ruas",
        "village": "aldeia aldeias vila",
        "house": "casa casas",
        "castle": "castelo",
        "desert": "deserto areia",
        "snow": "neve inverno gelo",
        "night": "noite noites",
        "moon": "lua",
        "star": "estrela estrelas",
        "morning": "manhã amanhecer madrugada",
        "sun": "sol",
        "storm": "tempestade chuva",
        "fire": "fogo fogueira chama",
        "garden": "jardim flores",
    },
    "fr": {
        "sea": "mer mers océan vague vagues plage côte rivage",
        "island": "île îles",
        "lighthouse": "phare phares",
        "tower": "tour",
        "ship": "bateau bateaux navire navires barque voilier",
        "forest": "forêt forêts bois arbre arbres",
        "mountain": "montagne montagnes mont colline",
        "city": "ville villes rue rues",
        "village": "village villages hameau",
        "house": "maison maisons chaumière",
        "castle": "château",
        "desert": "désert sable dunes",
        "snow": "neige hiver glace",
        "night": "nuit nuits",
        "moon": "lune",
        "star": "étoile étoiles",
        "morning": "matin aube aurore",
        "sun": "soleil",
        "evening": "soir crépuscule",
        "storm": "tempête orage pluie",
        "fire": "feu flamme flammes",
        "garden": "jardin fleurs",
    },
    "de": {
        "sea": "meer* küste* strand* ozean* welle wellen",
        "island": "insel*",
        "lighthouse": "leuchtturm*",
        "tower": "turm türme turms",
        "ship": "schiff* boot boote fischerboot*",
        "forest": "wald* wälder* baum bäume",
        "mountain": "berg berge bergen gebirge* hügel",
        "city": "stadt städte straße* großstadt",
        "village": "dorf* dörfer*",
        "house": "haus häuser hütte",
        "castle": "burg schloss",
        "desert": "wüste* sand",
        "snow": "schnee* winter* eis",
        "night": "nacht nächte nachts",
        "moon": "mond mondes mondlicht* mondschein*",
        "star": "sterne sternen*",
        "morning": "morgen* morgens morgengrauen",
        "sun": "sonne*",
        "evening": "abend* abends dämmerung",
        "storm": "sturm* gewitter* regen",
        "fire": "feuer*",
        "garden": "garten gärten blumen",
    },
    "ru": {
        "sea": "море* моря морю морск* океан* волна волны волн волнам волнами волнах берег*",
        "island": "остров*",
        "lighthouse": "маяк*",
        "tower": "башн*",
        "ship": "корабл* лодк* лодок судно",
        "forest": "лес леса лесу лесом лесн* дерево деревья деревьев",
        "mountain": "гора гору горы горой горах горн* холм*",
        "city": "город* улиц*",
        "village": "деревн* село селе деревушк*",
        "house": "дом дома доме домик* избушк*",
        "castle": "замок замка",
        "desert": "пустын* песок песк*",
        "snow": "снег* снеж* зим* лёд льд*",
        "night": "ночь ночью ночи ночн*",
        "moon": "луна луны луной лунн*",
        "star": "звезд* звёзд*",
        "morning": "утро утром утра утру утрен* рассвет*",
        "sun": "солнц*",
        "evening": "вечер* закат*",
        "storm": "буря бури бурю бурей шторм* гроз* дожд*",
        "fire": "огонь огня огнём огнем огни огн* костёр костер костр*",
        "garden": "сад саду цветы цветок цветов",
    },
    "ar": {
        "sea": "بحر* محيط* موجة* أمواج موج شاطئ* ساحل*",
        "island": "جزير*",
        "lighthouse": "منار*",
        "tower": "برج* أبراج",
        "ship": "سفين* قارب* مركب*",
        "forest": "غابة* غابات غابت* شجر* أشجار",
        "mountain": "جبل* جبال",
        "city": "مدين* مدن شارع*",
        "village": "قرية قريته قريتها قريتنا قرى",
        "house": "بيت* منزل*",
        "castle": "قلع* قصر*",
        "desert": "صحراء* صحاري رمال رمل*",
        "snow": "ثلج* شتاء*",
        "night": "ليل*",
        "moon": "قمر*",
        "star": "نجم* نجوم*",
        "morning": "صباح* فجر*",
        "sun": "شمس*",
        "evening": "مساء* غروب*",
        "storm": "عاصف* مطر* أمطار",
        "fire": "نار* نيران",
        "garden": "حديق* زهور* زهر*",
    },
    "hi": {
        "sea": "समुद्र* सागर* समंदर* लहर* लहरें तट किनारे",
        "island": "द्वीप* टापू*",
        "lighthouse": "प्रकाशस्तंभ* लाइटहाउस*",
        "tower": "मीनार* टावर*",
        "ship": "जहाज* जहाज़* नाव* नौका*",
        "forest": "जंगल* वन पेड़* पेड*",
        "mountain": "पहाड़* पहाड* पर्वत*",
        "city": "शहर* नगर*",
        "village": "गाँव* गांव*",
        "house": "घर*",
        "castle": "किला* किले*",
        "desert": "रेगिस्तान* मरुस्थल*",
        "snow": "बर्फ* बर्फ़* सर्दी*",
        "night": "रात*",
        "moon": "चाँद* चांद* चंद्रमा*",
        "star": "तारा तारे तारों",
        "morning": "सुबह* सवेरे* सवेरा* भोर*",
        "sun": "सूरज* सूर्य*",
        "evening": "शाम*",
        "storm": "तूफ़ान* तूफान* बारिश*",
        "fire": "आग*",
        "garden": "बगीचा* बगीचे* फूल*",
    },
    "id": {
        "sea": "laut lautan ombak pantai samudra samudera",
        "island": "pulau",
        "lighthouse": "mercusuar",
        "tower": "menara",
        "ship": "kapal perahu",
        "forest": "hutan pohon",
        "mountain": "gunung bukit",
        "city": "kota",
        "village": "desa kampung",
        "house": "rumah pondok",
        "castle": "istana kastil",
        "desert": "gurun pasir",
        "snow": "salju",
        "night": "malam",
        "moon": "bulan",
        "star": "bintang",
        "morning": "pagi fajar subuh",
        "sun": "matahari",
        "evening": "senja sore",
        "storm": "badai hujan",
        "fire": "api",
        "garden": "taman bunga",
    },
    # Japanese and Chinese: found anywhere in the text.
    "ja": {
        "sea": "海 波 浜 岸",
        "island": "島",
        "lighthouse": "灯台",
        "tower": "塔",
        "ship": "船 舟",
        "forest": "森 林 木",
        "mountain": "山",
        "city": "都市 街 都",
        "village": "村 里",
        "house": "家 小屋",
        "castle": "城",
        "desert": "砂漠",
        "snow": "雪 冬 氷",
        "night": "夜 晩",
        "moon": "月",
        "star": "星",
        "morning": "朝 明け方 夜明け",
        "sun": "太陽 日差し 昼",
        "evening": "夕方 夕日 夕暮れ",
        "storm": "嵐 雷 雨",
        "fire": "火 炎",
        "garden": "庭 花",
    },
    "zh": {
        "sea": "海 浪 岸",
        "island": "岛 島",
        "lighthouse": "灯塔 燈塔",
        "tower": "塔",
        "ship": "船 舟",
        "forest": "森林 树林 樹林 树 樹",
        "mountain": "山",
        "city": "城市 街",
        "village": "村",
        "house": "房子 屋",
        "castle": "城堡",
        "desert": "沙漠",
        "snow": "雪 冬 冰",
        "night": "夜 晚上",
        "moon": "月亮 月光",
        "star": "星",
        "morning": "早晨 清晨 早上 黎明",
        "sun": "太阳 太陽 阳光",
        "evening": "傍晚 黄昏",
        "storm": "暴风雨 风暴 暴風雨 雷 雨",
        "fire": "火",
        "garden": "花园 花園 花",
    },
    "th": {
        "sea": "ทะเล คลื่น ชายหาด",
        "island": "เกาะ",
        "lighthouse": "ประภาคาร",
        "tower": "หอคอย",
        "ship": "เรือ",
        "forest": "ป่า ต้นไม้",
        "mountain": "ภูเขา",
        "city": "เมือง",
        "village": "หมู่บ้าน",
        "house": "บ้าน",
        "desert": "ทะเลทราย",
        "snow": "หิมะ",
        "night": "กลางคืน คืน",
        "moon": "ดวงจันทร์",
        "star": "ดาว",
        "morning": "เช้า",
        "sun": "ดวงอาทิตย์",
        "storm": "พายุ ฝน",
        "fire": "ไฟ",
        "garden": "สวน ดอกไม้",
    },
}
_UNSPACED_TAGS = ("ja", "zh", "th")
# The article and the one-letter proclitics (and, so, with, for, like) an Arabic word may carry.
_ARABIC_PREFIXES = ("وال", "فال", "بال", "كال", "لل", "ال", "و", "ف", "ب", "ل", "ك")
_ARABIC = regex.compile(r"\p{Script=Arabic}")
WORD = regex.compile(r"[\p{L}\p{M}]+")


def _fold(text: str) -> str:
    # NFC, so a Devanagari nukta or a French accent typed either way is the same letter.
    return unicodedata.normalize("NFC", text).lower()


def _build() -> tuple[dict[str, set[str]], list[tuple[str, str]], list[tuple[str, str]]]:
    whole: dict[str, set[str]] = {}
    stems: list[tuple[str, str]] = []
    inside: list[tuple[str, str]] = []
    for tag, table in _TABLES.items():
        for english, spelled in table.items():
            for word in _fold(spelled).split():
                if tag in _UNSPACED_TAGS:
                    inside.append((word, english))
                elif word.endswith("*"):
                    stems.append((word[:-1], english))
                else:
                    whole.setdefault(word, set()).add(english)
    # Longest first, so 灯台 is read as a lighthouse before 台 is read as anything else.
    inside.sort(key=lambda pair: -len(pair[0]))
    return whole, stems, inside


_WHOLE, _STEMS, _INSIDE = _build()


@lru_cache(maxsize=4096)
def english_for(word: str) -> frozenset[str]:
    """The English picture words a (lower-case, NFC) word of a spaced script stands for."""
    forms = [word]
    if _ARABIC.match(word):
        forms += [word[len(p) :] for p in _ARABIC_PREFIXES if word.startswith(p)]
    found: set[str] = set()
    for form in forms:
        found |= _WHOLE.get(form, set())
        found.update(english for stem, english in _STEMS if form.startswith(stem))
    return frozenset(found)


def english_inside(text: str) -> list[str]:
    """English picture words for the Chinese, Japanese and Thai words found in the text,
    in order of appearance; a longer word hides the shorter ones inside it."""
    folded, hits = _fold(text), []
    taken = [False] * len(folded)
    for word, english in _INSIDE:
        for match in re.finditer(re.escape(word), folded):
            span = range(match.start(), match.end())
            if not any(taken[i] for i in span):
                for i in span:
                    taken[i] = True
                hits.append((match.start(), english))
    return [english for _, english in sorted(hits)]


def words_of(text: str) -> list[str]:
    """The prompt's words, lower-case and NFC, in any script."""
    return [str(word) for word in WORD.findall(_fold(text))]
