"""Phrase templates the generator assembles reviews and posts from.

Clauses are written without terminal punctuation so they can be combined into plain
sentences or contrast sentences ("X, but Y" / "X，但是Y"). Placeholders such as
{area} are filled per location. Forum text is GBK-encoded, so anything used there
must stay free of emoji.
"""

from __future__ import annotations

POS, NEU, NEG = "positive", "neutral", "negative"

HOTEL_ASPECTS = (
    "cleanliness", "room", "service", "location", "breakfast", "value", "noise", "wifi", "checkin",
)
FOOD_ASPECTS = ("taste", "delivery", "packaging", "portion", "price", "service")

# HOTEL[lang][aspect][polarity] -> clauses
HOTEL: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    "en": {
        "cleanliness": {
            POS: ("the room was spotless", "housekeeping kept everything immaculate",
                  "the bathroom was sparkling clean"),
            NEG: ("there was hair in the bathtub when we arrived",
                  "the carpet looked like it hadn't been vacuumed in weeks",
                  "the sheets had stains on them"),
            NEU: ("the room was clean enough", "cleanliness was okay, nothing special"),
        },
        "room": {
            POS: ("our room was spacious with a gorgeous {view}", "the bed was incredibly comfortable",
                  "the room had a lovely, modern design"),
            NEG: ("the room was tiny and smelled of smoke",
                  'the "{view}" room only looked out onto a car park',
                  "the air conditioning barely worked"),
            NEU: ("the room was a standard size for the city", "the room was fine for a short stay"),
        },
        "service": {
            POS: ("the staff went out of their way to help us",
                  "the concierge booked us a great dinner spot",
                  "everyone at the front desk was friendly & professional"),
            NEG: ("the front desk staff were rude and dismissive",
                  "nobody answered when we called reception",
                  "we waited 40 minutes for room service"),
            NEU: ("staff were polite but a bit robotic", "service was what you'd expect"),
        },
        "location": {
            POS: ("the location is unbeatable, only a short walk to {area}",
                  "it's a five-minute walk to the metro",
                  "there are plenty of restaurants & cafés nearby"),
            NEG: ("the location is further from {area} than the listing suggests",
                  "the street outside felt a bit sketchy at night",
                  "getting a taxi here was a nightmare"),
            NEU: ("the location is convenient enough", "it's about 15 minutes on foot to {area}"),
        },
        "breakfast": {
            POS: ("breakfast had a huge selection of Chinese & Western dishes",
                  "the breakfast dim sum was excellent",
                  "the coffee at breakfast was surprisingly good"),
            NEG: ("breakfast was overpriced and the food was cold",
                  "the breakfast buffet ran out of everything by 9am",
                  "the eggs at breakfast were rubbery"),
            NEU: ("breakfast was average", "breakfast was fine but a little repetitive"),
        },
        "value": {
            POS: ("it was great value for money", "for the price, you can't beat it",
                  "it was worth every penny"),
            NEG: ("it's way overpriced for what you get",
                  "at over 1,500 RMB a night I expected much more",
                  "the hidden fees added up quickly"),
            NEU: ("the price is about right for the area", "value for money was reasonable"),
        },
        "noise": {
            POS: ("the room was very quiet and we slept like babies",
                  "soundproofing was excellent despite the busy street"),
            NEG: ("the room was noisy", "we could hear every word from the next room",
                  "construction noise started at 7am every day"),
            NEU: ("there was some street noise, but earplugs were provided",
                  "noise levels were acceptable"),
        },
        "wifi": {
            POS: ("the Wi-Fi was fast and reliable", "the Wi-Fi was strong enough for video calls"),
            NEG: ("the Wi-Fi kept dropping out", "Wi-Fi speed was < 1 Mbps most evenings",
                  "the Wi-Fi made us log in again every hour"),
            NEU: ("the Wi-Fi was okay for emails", "the Wi-Fi worked but was a bit slow"),
        },
        "checkin": {
            POS: ("check-in took less than five minutes",
                  "they let us check in early at no charge"),
            NEG: ("check-in took almost an hour", "our room wasn't ready until 5pm",
                  "they lost our reservation at check-in"),
            NEU: ("check-in was straightforward", "check-in was a bit slow but fine"),
        },
    },
    "zh": {
        "cleanliness": {
            POS: ("房间很干净", "卫生间打扫得一尘不染", "床品干净整洁"),
            NEG: ("浴缸里有头发", "地毯很脏，好像很久没吸过", "床单上有污渍"),
            NEU: ("卫生还可以", "卫生情况一般，没什么大问题"),
        },
        "room": {
            POS: ("房间很大，{view_zh}超棒", "床很舒服，睡得特别好", "房间装修很新，设计感十足"),
            NEG: ("房间又小又有烟味", '所谓的"{view_zh}房"只能看到停车场', "空调几乎不制冷"),
            NEU: ("房间大小中规中矩", "房间还行，住一两晚够了"),
        },
        "service": {
            POS: ("前台小姐姐非常热情", "礼宾帮我们订到了很棒的餐厅", "服务人员很专业&贴心"),
            NEG: ("前台态度很差", "打电话到前台一直没人接", "客房送餐等了四十分钟"),
            NEU: ("服务还算礼貌，但有点机械", "服务中规中矩"),
        },
        "location": {
            POS: ("位置绝佳，走几分钟就到{area_zh}", "离地铁站很近，出行方便", "周边吃饭的地方很多"),
            NEG: ("离{area_zh}比宣传的远多了", "晚上周边有点乱", "打车特别难"),
            NEU: ("位置还算方便", "步行到{area_zh}大概十五分钟"),
        },
        "breakfast": {
            POS: ("早餐种类丰富，中西式都有", "早餐的小笼包很好吃", "早餐的咖啡是现磨的，好评"),
            NEG: ("早餐又贵又凉", "早餐九点就基本没东西了", "早餐的鸡蛋很老"),
            NEU: ("早餐一般般", "早餐还行，就是天天都一样"),
        },
        "value": {
            POS: ("性价比很高", "这个价格非常值", "物超所值"),
            NEG: ("价格虚高，不值这个价", "一晚一千五，体验配不上价格", "各种隐藏收费"),
            NEU: ("价格和周边差不多", "性价比中等"),
        },
        "noise": {
            POS: ("房间很安静，睡得很好", "隔音效果很好，完全听不到马路上的声音"),
            NEG: ("房间隔音很差", "隔壁说话都听得一清二楚", "早上七点就开始施工，吵死了"),
            NEU: ("有一点街道噪音，不过提供了耳塞", "噪音在可接受范围内"),
        },
        "wifi": {
            POS: ("网速很快很稳定", "WiFi开视频会议完全没问题"),
            NEG: ("WiFi经常断", "网速<1M，基本没法开视频会议", "WiFi每小时都要重新登录"),
            NEU: ("WiFi收发邮件够用", "WiFi能用但有点慢"),
        },
        "checkin": {
            POS: ("办理入住不到五分钟", "免费给我们提前入住了"),
            NEG: ("办理入住等了快一个小时", "下午五点房间还没准备好", "前台把我们的预订弄丢了"),
            NEU: ("入住流程很顺利", "入住稍微慢了点，还能接受"),
        },
    },
}

# FOOD[aspect][polarity] -> Chinese clauses (delivery platform comments).
FOOD: dict[str, dict[str, tuple[str, ...]]] = {
    "taste": {
        POS: ("咖啡很香，回甘明显", "拿铁奶味很浓，好喝", "可颂外酥里嫩"),
        NEG: ("咖啡有股焦糊味", "太甜了，完全喝不出咖啡味", "三明治的面包是干的"),
        NEU: ("味道中规中矩", '说是"招牌"，其实一般'),
    },
    "delivery": {
        POS: ("配送超快，下单后<20分钟就送到了", "骑手小哥很准时"),
        NEG: ("配送慢得离谱，等了一个多小时", "送到的时候冰都化完了"),
        NEU: ("配送时间正常", "送达时间比预计晚了十分钟"),
    },
    "packaging": {
        POS: ("包装很用心，杯子封得严严实实", "有保温袋，送到还是热的"),
        NEG: ("包装漏了，袋子里全是咖啡", "杯盖没盖紧洒了一半"),
        NEU: ("包装普通", "包装还行"),
    },
    "portion": {
        POS: ("分量很足", "超大杯真的很大"),
        NEG: ("分量太少了，半杯都是冰", "三明治小得可怜"),
        NEU: ("分量正常", "分量一般"),
    },
    "price": {
        POS: ("活动价很划算", "价格实惠，比门店便宜"),
        NEG: ("价格偏贵，一杯快四十", "满减后还是不便宜"),
        NEU: ("价格一般", "价格和其他家差不多"),
    },
    "service": {
        POS: ("商家还送了小饼干&贴纸，很贴心", "备注少冰都照做了"),
        NEG: ("备注去冰结果还是满满的冰", "联系商家一直不回"),
        NEU: ("服务没什么特别的", "商家回复还算及时"),
    },
}

TRIPS_EN = ("business trip", "weekend getaway", "family holiday", "romantic weekend", "conference")
NIGHTS_EN = ("two", "three", "four")
NIGHTS_ZH = ("两", "三", "四")

OPENERS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        POS: ("Stayed {nights} nights for a {trip}.",
              "Second time at this hotel and it did not disappoint."),
        NEU: ("Stayed {nights} nights for a {trip}.", "Booked this hotel last minute for a {trip}."),
        NEG: ("We booked {nights} nights for a {trip} and regretted it.",
              "Had high hopes for this one."),
    },
    "zh": {
        POS: ("出差住了{nights}晚。", "第二次入住了，依旧满意。", "带爸妈来{city_zh}玩住了{nights}晚。"),
        NEU: ("出差住了{nights}晚。", "临时订的，住了{nights}晚。"),
        NEG: ("带家人住了{nights}晚，很后悔。", "本来期望挺高的。"),
    },
}

CLOSERS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        POS: ("Would definitely stay again!", "Highly recommended 👍", "Can't wait to come back 😍"),
        NEU: ("Overall an okay stay.", "It's fine for a night or two 🙂", "Mixed feelings overall."),
        NEG: ("Won't be coming back.", "Avoid if you can 😡", "Very disappointing."),
    },
    "zh": {
        POS: ("下次还会再来！", "强烈推荐👍", "五星好评！"),
        NEU: ("总体还行吧。", "住一两晚可以🙂", "中规中矩。"),
        NEG: ("不会再来了。", "大家避雷吧😡", "非常失望。"),
    },
}

TITLES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        POS: ("Perfect location, lovely stay", "Fantastic stay", "Exceeded expectations",
              "Lovely staff & great views", "Our new favourite in town"),
        NEU: ("Decent but nothing special", "OK for a short stay", "Mixed experience",
              "Good location, average rooms"),
        NEG: ("Disappointing stay", "Not worth the money", "Would not recommend",
              "Noisy and overpriced"),
    },
    "zh": {
        POS: ("非常满意的一次入住", "超出预期", "下次还住", "服务和位置都很棒"),
        NEU: ("中规中矩", "还行吧", "有好有坏"),
        NEG: ("很失望", "不推荐", "体验很差", "踩雷了"),
    },
}

HOTEL_REPLIES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        POS: ("Dear {author}, thank you for your wonderful review! We're delighted you enjoyed "
              "your stay and look forward to welcoming you back.",),
        NEU: ("Dear {author}, thank you for your feedback. We hope to see you again soon.",),
        NEG: ("Dear {author}, we're sorry to hear about your experience. We have shared your "
              "feedback with our team & would love the chance to make it right.",),
    },
    "zh": {
        POS: ("亲爱的{author}，感谢您的好评！期待您再次光临。",),
        NEU: ("亲爱的{author}，感谢您的入住和宝贵意见，我们会继续努力。",),
        NEG: ("亲爱的{author}，非常抱歉给您带来不好的体验，我们已将您的反馈转达给相关部门，会尽快改进。",),
    },
}

MALL_REPLIES: dict[str, tuple[str, ...]] = {
    POS: ("感谢您的支持，期待再次光临～", "谢谢亲的好评，欢迎常来！"),
    NEU: ("感谢您的评价，我们会继续努力！",),
    NEG: ("非常抱歉给您带来不好的体验，已反馈给门店，可联系客服为您补偿。",),
}

MALL_CLOSERS: dict[str, tuple[str, ...]] = {
    POS: ("下次还点！", "👍👍", "😋", "好评"),
    NEU: ("", "还会再试试别的", "🤔"),
    NEG: ("不会再点了", "😤", "差评"),
}

MALL_OPTIONS = (
    "大杯 少冰", "中杯 热", "超大杯 去冰 少糖", "大杯 标准冰", "套餐A 美式+可颂", "中杯 燕麦奶",
    "大杯 热 半糖",
)

EN_NAMES = (
    "TravelBug88", "Sarah K", "globetrotter_mike", "Emma W.", "David L", "wanderlust_jen",
    "Tom H", "BizTraveler_SG", "Olivia R", "Jason Chen", "backpackerdan", "Priya S", "Lucas M",
    "Hannah & Ben", "Mark T", "FoodieFran", "Kenji Y", "Anna P", "ChrisInChina", "Nadia F",
    "Rob_UK", "Mei & Jack", "Sophie D", "Alex_Travels", "Grace H", "Ethan Wu", "Laura B",
    "nomad_nick", "Kate O'Brien", "Daniel K",
)
ZH_NAMES = (
    "小鱼儿爱旅行", "阿杰", "上海吃货小王", "喵星人在路上", "旅行的意义", "王小二", "晴天娃娃",
    "吃不胖的胖子", "Lily_在上海", "背包客老张", "一只小熊猫", "周末去哪儿", "橙子味的夏天",
    "慢生活的阿May", "江南小雨", "出差狗", "大白兔", "快乐星球", "momo酱", "追风少年",
)

# ---------------------------------------------------------------- Weibo
WEIBO_NAMES = (
    "魔都吃喝玩乐指南", "港湾小迷妹", "酒店试睡员阿K", "沪上生活家", "旅行摄影师Leo", "出差达人小周",
    "外滩夜跑er", "一颗柠檬精", "Yuki在魔都", "周末酒店控", "爱吃的胖虎", "魔都打工人",
    "小红在路上", "是阿琳呀", "住遍全球的猫", "今天也要开心鸭", "Jerry的旅行日记", "咖啡续命中",
)
WEIBO_TOPICS: dict[str, tuple[str, ...]] = {
    POS: ("上海酒店推荐", "魔都周末去哪儿", "外滩夜景", "酒店测评"),
    NEU: ("上海旅行", "酒店测评", "出差日常"),
    NEG: ("酒店避雷", "消费避坑", "酒店测评"),
}
WEIBO_INTROS: dict[str, tuple[str, ...]] = {
    POS: ("周末入住了", "终于打卡了", "出差住在", "第二次住"),
    NEU: ("出差入住了", "临时订了", "这次住的"),
    NEG: ("这次住的", "被种草住了", "出差住了"),
}
# (alt text, image name)
WEIBO_EMOTICONS: dict[str, tuple[tuple[str, str], ...]] = {
    POS: (("[哈哈]", "haha"), ("[赞]", "zan"), ("[心]", "xin"), ("[good]", "good")),
    NEU: (("[doge]", "doge"), ("[吃瓜]", "chigua"), ("[思考]", "sikao")),
    NEG: (("[怒]", "nu"), ("[泪]", "lei"), ("[允悲]", "yunbei"), ("[吐]", "tu")),
}
WEIBO_EMOJI: dict[str, tuple[str, ...]] = {
    POS: ("😍", "👍", "🌃", "✨"),
    NEU: ("🙂", "🤔", ""),
    NEG: ("😤", "😓", "👎"),
}
WEIBO_MENTIONS = {
    "harbor-sh-bund": "港湾酒店上海外滩店",
    "lotus-sh-bund": "莲花客栈外滩店",
}
WEIBO_SOURCES = ("iPhone客户端", "HUAWEI Mate 60 Pro", "微博 weibo.com", "Android", "iPhone 15 Pro Max",
                 "小米14 Ultra")
WEIBO_REGIONS = ("发布于 上海", "发布于 上海", "发布于 上海", "发布于 江苏", "发布于 浙江", "发布于 北京")

# ---------------------------------------------------------------- forum (must stay GBK-safe)
FORUM_NAMES = (
    "王喆", "李堃堃", "珺珺爱西湖", "玥玥妈", "老镕", "杭州土著", "西湖边的猫", "背包客老张",
    "阿喆在杭州", "路过的风", "旅行达人小陈", "钱塘江畔", "断桥残雪", "宋城小哥",
)
FORUM_THREADS = (
    {
        "title": "西湖边港湾酒店入住體驗，优缺点都说说",
        "opening": (
            "上周末带家人住了两晚，整體體驗還不錯，但也有槽点，给大家参考。",
            "优点：{pos1}，{pos2}。",
            "缺点：{neg1}，{neg2}。",
            "总结：适合短住，价格再低一点就更好了。",
        ),
    },
    {
        "title": "求助：港湾酒店西湖店现在还值得住吗？",
        "opening": (
            "下个月带爸妈去西湖，看中了港湾酒店，但网上评价两极分化。",
            "住过的朋友说说现在怎么样？服務態度和早餐是我最关心的。",
        ),
    },
)
FORUM_REPLIES: dict[str, tuple[str, ...]] = {
    POS: ("上个月刚住过，{clause}，推荐。", "我觉得挺好的，{clause}。", "楼主说得对，{clause}。",
          "我朋友阿喆也住过，说{clause}。", "整體體驗還不錯，{clause}。"),
    NEU: ("mark一下，下个月也要去杭州。", "同问，{clause}吗？", "还行吧，{clause}。",
          "我住的是别家，不过听说{clause}。"),
    NEG: ("同感，{clause}。", "别去了，{clause}，服務態度也一般。", "上周住的，{clause}，很失望。",
          "说实话{clause}，不会再住了。"),
}
FORUM_PRIVATE = {
    "title": "版主专用：处理记录",
    "author": "版主-阿堃",
    "text": ("本帖仅版主可见：已处理违规广告帖3条。", "请勿外传。"),
}

# ---------------------------------------------------------------- travel blog (RSS)
BLOG_NAME = "Wanderlust Shanghai"
BLOG_AUTHORS = ("Emily Zhang", "Tom Becker", "Mei Lin")
BLOG_POSTS = (
    ("A Weekend at Harbor Hotel Shanghai Bund: Rooftop Views & Room Tour", POS),
    ("Harbor Hotel Shanghai Bund Review: Is the River View Worth It?", POS),
    ("Breakfast at Harbor Hotel Shanghai Bund, Ranked", NEU),
    ("Where to Stay on the Bund: Harbor Hotel vs. the Rest", POS),
    ("Business Trip Diary: 3 Nights at Harbor Hotel Shanghai Bund", NEU),
    ("Why I Checked Out of Harbor Hotel Shanghai Bund Early", NEG),
    ("Harbor Hotel Shanghai Bund After the Renovation", POS),
    ("Rainy Days on the Bund: Harbor Hotel's Spa & Pool", POS),
    ("Family-Friendly? Harbor Hotel Shanghai Bund with Kids", NEU),
    ("Late-Night Check-In at Harbor Hotel Shanghai Bund", NEG),
    ("Harbor Hotel Shanghai Bund: The Good, the Bad & the Noisy", NEU),
    ("Working Remotely from Harbor Hotel Shanghai Bund", POS),
    ("Anniversary Weekend at Harbor Hotel Shanghai Bund", POS),
    ("Harbor Hotel Shanghai Bund: Value for Money?", NEG),
    ("Five Things I Wish I'd Known Before Staying at Harbor Hotel Shanghai Bund", NEU),
)
BLOG_INTROS: dict[str, tuple[str, ...]] = {
    POS: ("I spent {nights} nights at Harbor Hotel Shanghai Bund and honestly didn't want to leave.",
          "Harbor Hotel Shanghai Bund has quickly become my go-to base in the city."),
    NEU: ("I spent {nights} nights at Harbor Hotel Shanghai Bund on a {trip}.",
          "Readers keep asking me about Harbor Hotel Shanghai Bund, so here is my honest take."),
    NEG: ("I had high hopes for Harbor Hotel Shanghai Bund, but this stay let me down.",
          "I rarely write negative posts, but my last stay at Harbor Hotel Shanghai Bund deserves one."),
}
