"""Mining lexicon: the hazard keywords used to pick candidate texts, and a product guesser.

The keyword list is deliberately broad (it is for *candidate mining*: every hit is
read and labelled by hand, the many false alarms become hard negatives).  Terms whose
dominant sense in a data set is not a hazard are limited to the data sets where the
hazard sense is plausible (``FOOD_ONLY``), so that e.g. 头发 is mined in food reviews
but not in shampoo reviews.
"""

from __future__ import annotations

import re


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# hazard family → keywords (a family is a mining aid, not a label: every hit is read).
KEYWORDS: dict[str, tuple[str, ...]] = {
    "electric_shock": _words("漏电 触电 电到 电人 麻手 麻麻 电击 带电 电了一下 被电"),
    "fire": _words(
        "起火 着火 冒烟 烧焦 焦味 糊味 自燃 火灾 火花 短路 烧坏 烧毁 烧了 烧掉 爆炸 "
        "炸了 爆裂 炸裂 自爆 爆燃 鼓包 熔化 融化 烧糊"
    ),
    "burns": _words("烫伤 烧伤 烫手 发烫 很烫 太烫 好烫 过热 烫死 烫得"),
    "chemical": _words(
        "甲醛 刺鼻 过敏 红疹 疹子 起疹 湿疹 瘙痒 发痒 头皮痒 很痒 更痒 有毒 中毒 "
        "毒性 毒素 致癌 荧光剂 三聚氰胺 重金属 超标 头晕 头疼 头痛 化学味 塑料味 "
        "油漆味 胶味 怪味 异味 臭味 味道很大 味道大 烧头皮 脱皮 红肿 刺痛 辣眼 熏"
    ),
    "injuries": _words(
        "划伤 割伤 割手 刮手 受伤 扎手 刺伤 弄伤 砸伤 夹伤 伤到 伤手 伤人 伤害 毛刺 "
        "锋利 玻璃渣 碎片 碎玻璃 出血 流血 骨折 摔倒 磕伤"
    ),
    "microbiological": _words(
        "变质 发霉 霉变 霉菌 长毛 馊 拉肚子 腹泻 肚子疼 肚子痛 吃坏 食物中毒 呕吐 "
        "吐了 上吐下泻 异物 苍蝇 蟑螂 虫子 小虫 生虫 过期 胀袋 胀包 胀气 发酸 酸了 "
        "腐烂 发臭 臭了 不新鲜 头发 钢丝 塑料片 没熟 不熟 生的 细菌"
    ),
    "choking_suffocation": _words("噎 窒息 误吞 吞下 卡喉 卡在喉咙 卡住喉咙 勒脖 勒住 勒伤 勒到"),
    "hearing_sight": _words("耳鸣 听力 耳朵疼 耳朵痛 震耳 辐射 伤眼 眼睛疼 眼睛痛 眼睛酸 刺眼 伤眼睛"),
    "entrapment_drowning": _words("溺水 溺亡 淹死 夹手 夹到 卡住手"),
    "general": _words(
        "危险 隐患 不安全 安全问题 安全性 召回 事故 死亡 身亡 医院 住院 急诊 就医 "
        "漏气 泄漏 燃气 煤气 爆屏 缺陷 质检 不合格 抽检"
    ),
}

# Second mining round: terms that the random sample of no-keyword texts showed were missed
# (see riskmine/data/corpus/README.md, "What the keywords miss").
ROUND2: dict[str, tuple[str, ...]] = {
    "chemical": _words("头痒 非常痒 特别痒 好痒 痒死 痒得 痒的 奇痒 痒痒 呛 刺激性"),
    "microbiological": _words("霉斑 霉点 长霉 起霉 霉味 没煮熟 不熟透 篡改"),
    "fire": _words("膨胀"),
    "injuries": _words("沙子 石子"),
}
for _family, _extra in ROUND2.items():
    KEYWORDS[_family] = KEYWORDS[_family] + _extra

# Terms mined only in food data sets (their common sense elsewhere is not a hazard).
FOOD_ONLY = frozenset(
    _words(
        "不新鲜 不熟 发臭 发酸 塑料片 头发 小虫 异味 异物 怪味 没熟 生的 "
        "生虫 细菌 腐烂 臭了 臭味 苍蝇 虫子 蟑螂 酸了 钢丝 长毛 沙子 石子"
    )
)
# Terms not mined in hotel reviews (room hygiene and maintenance: service complaints, see GUIDE.md).
NOT_IN_HOTEL = frozenset(
    _words("刺眼 发霉 味道大 味道很大 异味 怪味 熏 臭味 霉变 霉菌 霉味 霉斑 霉点 长霉 起霉 呛 刺激性")
)

# Food data sets (the keys are the data set, or online_shopping `cat`).
FOOD_KEYS = frozenset({"waimai_10k", "水果", "蒙牛"})
HOTEL_KEYS = frozenset({"ChnSentiCorp_htl_all", "酒店"})

# Phrases that hide a keyword in a non-hazard sense and are masked before matching.
MASKS = _words(
    "止痒 去屑止痒 漏电保护 防漏电 防触电 防爆 爆炸性 信息爆炸 爆炸头 头发不痒 不痒 不过敏 "
    "没有过敏 没过敏 无刺激 不刺鼻 没有异味 无异味 没异味 没有怪味 没有刺鼻 没有毒 无毒 "
    "安全性高 防辐射 低辐射 无辐射 不发烫 不烫 不会烫 没有发烫 不发热"
)

_ALL = [(fam, kw) for fam, kws in KEYWORDS.items() for kw in kws]


def keyword_hits(text: str, key: str) -> list[str]:
    """The keywords that hit ``text`` from data set ``key`` (data set name, or online_shopping cat)."""
    masked = text
    for m in MASKS:
        masked = masked.replace(m, "\x00" * len(m))
    hits = []
    for _fam, kw in _ALL:
        if kw in FOOD_ONLY and key not in FOOD_KEYS:
            continue
        if kw in NOT_IN_HOTEL and key in HOTEL_KEYS:
            continue
        if kw in masked:
            hits.append(kw)
    return hits


# Product category guesser: first matching pattern wins (order matters: specific before general).
_PRODUCTS: tuple[tuple[str, str], ...] = (
    (r"充电宝|移动电源", "充电宝"),
    (r"数据线|充电线|充电器|充电头|适配器|快充头|插头", "充电器/数据线"),
    (r"插座|插排|插线板|排插|接线板", "插座/插线板"),
    (r"耳机|耳麦|耳塞|airpods", "耳机"),
    (r"音箱|音响|喇叭", "音箱"),
    (r"手表|手环", "智能手表/手环"),
    (r"键盘|鼠标|u盘|硬盘|内存卡|读卡器|路由器|显示器|摄像头", "计算机配件"),
    (r"手机壳|保护壳|钢化膜|贴膜|手机膜|保护膜|支架|自拍杆", "手机配件"),
    (r"电吹风|吹风机|卷发棒|直板夹|剃须刀|电动牙刷", "个人护理电器"),
    (r"电饭煲|电热水壶|烧水壶|电磁炉|微波炉|豆浆机|榨汁机|料理机|电压力锅|空气炸锅", "厨房电器"),
    (r"台灯|灯泡|led灯|吸顶灯|手电筒", "照明灯具"),
    (r"电池", "电池"),
    (r"平板|ipad", "平板电脑"),
    (r"笔记本|电脑|主机", "计算机"),
    (r"手机|iphone|华为|小米|oppo|vivo|荣耀|魅族|苹果", "手机"),
)
_PRODUCT_RE = [(re.compile(p, re.I), c) for p, c in _PRODUCTS]


def guess_category(text: str) -> str | None:
    for pat, cat in _PRODUCT_RE:
        if pat.search(text):
            return cat
    return None


# Domain mining (2026-12, issue 14): extra terms per domain data set, read together with KEYWORDS.
# They pick the enriched slice of each source; a random sample of the rest is read as well.
DOMAIN_KEYWORDS: dict[str, tuple[str, ...]] = {
    "car_forum_opinions_ccf2018": _words(
        "刹车 制动 失灵 熄火 失去动力 动力中断 加速 失控 方向盘 转向 断轴 气囊 安全带 自燃 起火 漏油 "
        "甲醛 异味 刺鼻 熏 头晕 召回 缺陷 隐患 危险 事故 抖动 顿挫 机油"
    ),
    "jd_phone_reviews_2025": _words("烫 发热 发烧 爆炸 鼓包 冒烟 烧 起火 漏电 电到 过敏 辐射 充电器 充电头 安全"),
    "jd_haier_washer_reviews": _words(
        "漏电 电到 电人 麻 带电 触电 划 锋利 夹 着火 烧 冒烟 糊味 焦味 异味 刺鼻 危险 安全 漏水 爆"
    ),
    "cosmetics_reviews_zhijiang": _words(
        "过敏 痘 闭口 刺痛 刺激 泛红 红肿 发红 烂脸 痒 辣 烧 疼 起皮 脱皮 疹 不适 刺鼻 味道"
    ),
}


def domain_hits(text: str, dataset: str) -> list[str]:
    """Keyword hits for a domain data set: the general hazard keywords plus its own terms."""
    hits = keyword_hits(text, dataset)
    return hits + [kw for kw in DOMAIN_KEYWORDS.get(dataset, ()) if kw in text and kw not in hits]
