#!/usr/bin/env python3
"""Extract product / hazard trending headlines from public Weibo hot-search archives.

Standard library + git binary only. Reads bare git mirrors produced by the `fetch` tool:
  /work/.mirror/arandomguyhere+weibo-daily-hot-search/repo   (raw/YYYY-MM-DD.json)
  /work/.mirror/nateafish+weibo-hot-hub/repo                 (data/hotlists/YYYY/MM/DD/HH.json)
Writes topics.jsonl next to this script.
"""
import hashlib, json, os, re, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "topics.jsonl")
EXISTING = "/work/shared/data/hot_topics_product_safety/topics.jsonl"
RANDOM_RATE = 0.15

SOURCES = [
    dict(repo="arandomguyhere/weibo-daily-hot-search",
         git="/work/.mirror/arandomguyhere+weibo-daily-hot-search/repo",
         platform="微博热搜", kind="daily_raw"),
    dict(repo="nateafish/weibo-hot-hub",
         git="/work/.mirror/nateafish+weibo-hot-hub/repo",
         platform="微博热搜", kind="hourly_hotlists"),
]

PRODUCT = """电动车 电瓶车 电动自行车 自行车 摩托车 充电宝 充电器 充电桩 数据线 手机 iPhone 苹果手机 华为 小米 OPPO vivo 荣耀
笔记本 平板 耳机 手表 电池 锂电池 新能源车 新能源汽车 汽车 轿车 车辆 SUV 特斯拉 比亚迪 蔚来 理想汽车 小鹏 问界 极氪 智驾 辅助驾驶 自动驾驶
燃气 煤气 液化气 天然气 燃气灶 热水器 空调 冰箱 洗衣机 电视 微波炉 电饭煲 烤箱 空气炸锅 吹风机 电吹风 扫地机 净水器 电热水壶
电梯 扶梯 玩具 盲盒 积木 泡泡玛特 奶粉 纸尿裤 尿不湿 化妆品 护肤品 面膜 口红 防晒 洗发水 牙膏 沐浴露 香水 染发
插座 插线板 排插 电线 电热毯 取暖器 暖宝宝 电暖器 高压锅 压力锅 油锅 菜刀 头盔 安全座椅 婴儿车 童车 儿童 婴儿 宝宝 校服 书包 文具
甲醛 卫生巾 食品 外卖 饮料 奶茶 咖啡 酸奶 牛奶 雪糕 冰淇淋 月饼 零食 辣条 方便面 火锅 预制菜 猪肉 牛肉 鸡蛋 大米 食用油 白酒 啤酒 矿泉水
蔬菜 水果 海鲜 螃蟹 小龙虾 药 口罩 疫苗 保健品 减肥药 医美 隐形眼镜 眼镜 假发 衣服 服装 鞋 羽绒服 床垫 沙发 家具 地板 瓷砖 涂料 装修
烟花 鞭炮 打火机 蜡烛 香薰 电子烟 无人机 自拍杆 充气 蹦床 滑板车 平衡车 跑步机 健身器 泳池 游乐设施 过山车 摩天轮
产品 商品 货 品牌 外套 泡面 茶叶 蜂蜜 面包 蛋糕 糖果 巧克力 果冻 米线 螺蛳粉 调料 酱油 醋 保温杯 水杯 餐具 筷子 一次性 塑料 洗洁精 洗衣液 消毒液 杀虫剂 蚊香""".split()
HAZARD = """起火 着火 失火 火灾 自燃 爆炸 爆燃 炸了 冒烟 漏电 触电 电击 中毒 窒息 烫伤 烧伤 灼伤 受伤 骨折 身亡 死亡 丧生 遇难 去世 致死 致残 召回 抽检 抽查 不合格
超标 致癌 有毒 剧毒 毒素 刹车 失灵 失控 断裂 倒塌 坍塌 坠落 坠亡 脱落 爆胎 被夹 夹伤 夹住 夹断 卡住 卡喉 误吞 误食 吞食 过敏 变质 发霉 霉变 异物 虫子 蟑螂 老鼠 头发丝
隐患 危险 缺陷 质量问题 质量 投诉 维权 曝光 315 3·15 假冒 伪劣 假货 山寨 造假 翻新 虚标 掺假 添加剂 非法添加 兽药残留 农残 重金属 铅 辐射 细菌 大肠杆菌 沙门氏菌 腹泻 呕吐 送医 抢救 ICU
急诊 碰撞 事故 撞倒 撞上 撞击 追撞 相撞 撞伤 撞死 漏气 泄漏 渗漏 燃烧 烧毁 下架 停售 处罚 罚款 立案 调查 整改 约谈 通报 警示 提醒 风险 安全 故障 异响 漏水 脏 臭 过期 三无 黑心 劣质 鼓包 炸裂 碎裂 划伤 割伤 咬伤""".split()

PUNCT_RE = re.compile(r"[\s\W_]+", re.UNICODE)

def norm(s):
    return PUNCT_RE.sub("", s).lower()

def git(gdir, *args):
    return subprocess.run(["git", "--git-dir", gdir, *args], check=True,
                          capture_output=True).stdout

def iter_daily_raw(src, commit):
    names = git(src["git"], "ls-tree", "-r", "--name-only", commit, "raw").decode().split("\n")
    for p in sorted(n for n in names if re.match(r"raw/\d{4}-\d{2}-\d{2}\.json$", n)):
        try:
            data = json.loads(git(src["git"], "show", f"{commit}:{p}"))
        except Exception:
            continue
        date = p[4:14]
        for it in data if isinstance(data, list) else []:
            t = (it.get("text") or it.get("title") or "").strip()
            if t:
                yield t, date, p

def iter_hourly(src, commit):
    names = git(src["git"], "ls-tree", "-r", "--name-only", commit, "data/hotlists").decode().split("\n")
    for p in sorted(n for n in names if n.endswith(".json")):
        try:
            data = json.loads(git(src["git"], "show", f"{commit}:{p}"))
        except Exception:
            continue
        date = (data.get("captured_at") or "")[:10] or "/".join(p.split("/")[2:5]).replace("/", "-")
        for it in data.get("topics", []):
            t = (it.get("title") or "").strip()
            if t:
                yield t, date, p

def has_any(t, words):
    tl = t.lower()
    return [w for w in words if w.lower() in tl]

def is_random(n):
    h = int(hashlib.sha1(("hot_more|" + n).encode()).hexdigest()[:8], 16)
    return h / 0xFFFFFFFF < RANDOM_RATE

def main():
    seen = set()
    if os.path.exists(EXISTING):
        for line in open(EXISTING, encoding="utf-8"):
            try:
                seen.add(norm(json.loads(line)["text"]))
            except Exception:
                pass
    n_existing = len(seen)
    out, stats = [], {}
    for src in SOURCES:
        if not os.path.isdir(src["git"]):
            print("missing mirror", src["git"], file=sys.stderr); continue
        commit = git(src["git"], "rev-parse", "HEAD").decode().strip()
        it = iter_daily_raw if src["kind"] == "daily_raw" else iter_hourly
        st = stats.setdefault(src["repo"], dict(commit=commit, headlines=0, unique=0,
                                                dup_existing=0, hazard_word=0, random=0, files=set()))
        local = set()
        for text, date, path in it(src, commit):
            st["headlines"] += 1; st["files"].add(path)
            n = norm(text)
            if not n or n in local:
                continue
            local.add(n); st["unique"] += 1
            if not has_any(text, PRODUCT):
                continue
            if n in seen:
                st["dup_existing"] += 1; continue
            if has_any(text, HAZARD):
                sl = "hazard_word"
            elif is_random(n):
                sl = "random"
            else:
                continue
            seen.add(n); st[sl] += 1
            out.append(dict(text=text, platform=src["platform"], first_seen=date,
                            repo=src["repo"], commit=commit, path=path, slice=sl))
    out = out[:2500]
    with open(OUT, "w", encoding="utf-8") as f:
        for i, o in enumerate(out, 1):
            f.write(json.dumps({"id": f"hot_more-{i}", **o}, ensure_ascii=False) + "\n")
    for r, st in stats.items():
        st["files"] = len(st["files"])
        print(r, json.dumps(st, ensure_ascii=False))
    print("existing texts:", n_existing, "written:", len(out))

if __name__ == "__main__":
    main()
