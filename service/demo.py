"""Demo needs (客户需求), after the accounts, scoring, teams and risk demos: a year of needs a
person classified and resolved (the tenant's text model trains on them), then the needs of
the last weeks in every status, across the demo accounts and channels, with their threads,
and a few the model classifies. Deterministic.

- History: per category, needs a person classified (``category_source`` person), answered
  within the SLA, resolved with a rating and mostly closed. Most of their texts name no
  keyword of the rules (people wrote them in their own words), so the model learns what the
  rules miss and its cross-validated accuracy beats the rules'.
- Recent needs (``STORIES``): new, triaged, in progress, waiting for the customer, resolved
  with a rating, closed, one reopened; one a person re-classified; one that hits no rule and
  waits for a person; two from unknown senders in the triage queue; three breached (first
  response late, resolution overdue).
- After training: a few needs in words no rule knows, which the model classifies.

Services write everything (capture, replies, statuses); the times they stamp "now" are then
set back to the story's, with tenant-scoped updates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from accounts.models import Account, Contact
from kam.models import Tenant, User
from kam.tenancy import tenant_context
from service import services
from service.models import Category, CategorySource, Channel, EntryKind, Need, NeedEntry, NeedStatus, Priority

# How many needs of each category the history holds: 8 categories x 9 = 72, above the 50
# confirmed needs the model waits for and above the 60 of a useful cross-validation.
HISTORY_PER_CATEGORY = 9
HISTORY_DAYS = 330


@dataclass(frozen=True)
class Step:
    """One thing a person did on a need, ``hours`` after it was received: ``reply``, ``note``,
    or ``status`` (to ``status``, with an optional note and rating)."""

    hours: float
    kind: str
    text: str = ""
    status: str = ""
    satisfaction: int | None = None


@dataclass(frozen=True)
class Story:
    """A recent need: received ``hours_ago``, from account ``account`` (an index in id order;
    None: an unknown sender, the triage queue), then ``steps``."""

    account: int | None
    channel: str
    subject: str
    body: str
    hours_ago: float
    steps: tuple[Step, ...] = ()
    priority: str = Priority.NORMAL
    sender: str = ""
    recategorise: str = ""  # a person corrects the rules' category to this key


def reply(hours: float, text: str) -> Step:
    return Step(hours, "reply", text)


def note(hours: float, text: str) -> Step:
    return Step(hours, "note", text)


def status(hours: float, to: str, text: str = "", satisfaction: int | None = None) -> Step:
    return Step(hours, "status", text, to, satisfaction)


S = NeedStatus

# --- history: per category, subjects and sentences in people's own words (no keyword of the
# rules), and a few subjects with a keyword (the rules get those right) -----------------------

HISTORY_MANUFACTURING: dict[str, dict[str, list[str]]] = {
    "technical_support": {
        "subjects": [
            "主轴温升过高，振动明显",
            "液压站压力上不去",
            "伺服电机过热跳闸",
            "轴承运转噪声大",
            "控制柜报警灯常亮",
            "减速机漏油",
            "设备运行时抖动，精度下降",
        ],
        "bodies": [
            "现场操作工反映设备运行半小时后主轴温度升到七十度以上，振动值也偏大。",
            "已经按说明书检查过油位和滤芯，问题仍然存在，请派工程师到现场。",
            "报警代码E-207，复位后十分钟又出现，产线只能降速运行。",
            "请尽快安排工程师远程诊断，并告知需要更换哪些备件。",
            "拆开护罩发现密封圈有渗油痕迹，电机外壳温度很高。",
        ],
        "keyword_subjects": ["数控系统报错，无法启动", "液压系统故障停机"],
    },
    "delivery": {
        "subjects": [
            "第二批备件什么时候能送到",
            "请确认装车时间和车牌号",
            "签收时发现外包装破损",
            "仓库提货时间调整",
            "请提供预计送达日期",
            "上周下的单一直没收到",
            "请安排分批送货",
        ],
        "bodies": [
            "我们的产线下周一开工，备件必须在周五前送到现场仓库。",
            "请告知承运车辆的车牌号和司机电话，方便门卫放行。",
            "签收时发现两个木箱外包装破损，已拍照留存，请协调补送。",
            "麻烦把剩余的货分两批送，第一批先送轴承和密封件。",
            "请提供预计送达日期，我们好安排卸货人员和叉车。",
        ],
        "keyword_subjects": ["发货进度确认", "物流单号查询"],
    },
    "commercial": {
        "subjects": [
            "明年备件年度用量及单价确认",
            "批量订货的阶梯优惠",
            "招标文件澄清",
            "单价能否再下调",
            "年度降本目标沟通",
            "请确认单价有效期",
            "新一轮议价安排",
        ],
        "bodies": [
            "我们明年预计用量增加三成，希望单价能相应下调。",
            "集团今年有百分之五的降本目标，请贵司配合给出让利幅度。",
            "招标文件第三章的技术偏离表请在周三前回复。",
            "单价有效期到年底，请确认明年是否延续。",
            "批量订货能否给予阶梯优惠，请给出不同数量档的单价。",
        ],
        "keyword_subjects": ["请报价：精密轴承三百套", "框架协议续签的折扣"],
    },
    "billing": {
        "subjects": [
            "上月货款已汇出，请查收",
            "银行水单核对",
            "请开具收据",
            "收款账户变更通知",
            "款项到账确认",
            "年底结算明细",
            "余款抵扣说明",
        ],
        "bodies": [
            "上月货款已于15日通过银行转账汇出，请财务查收并回复到账情况。",
            "附件是银行水单，请核对金额并开具收据。",
            "我司收款账户信息已变更，请按新的账户信息更新。",
            "请财务确认款项是否到账，金额与订单一致。",
            "年底结算前请把未结清的款项列个明细发给我们。",
        ],
        "keyword_subjects": ["增值税发票开具申请", "对账单核对"],
    },
    "complaint": {
        "subjects": [
            "服务工程师多次迟到",
            "催了三次没人回复",
            "同样的问题已经出现第三次",
            "再这样下去只能更换供应商",
            "要求赔偿停产损失",
            "对售后处理结果很有意见",
            "现场人员不专业",
        ],
        "bodies": [
            "贵司工程师约好上午九点到，结果下午才来，耽误了我们一整天。",
            "同样的问题三个月内出现了三次，每次都说处理好了。",
            "如果下个月还解决不了，我们只能考虑更换供应商。",
            "停产造成的损失要求贵司给出赔偿说明。",
            "我们已经向集团领导汇报，希望贵司高层给个说法。",
        ],
        "keyword_subjects": ["投诉：交付质量问题", "对服务态度非常失望"],
    },
    "new_requirement": {
        "subjects": [
            "能否增加远程监控模块",
            "按我们的图纸加工特殊尺寸",
            "希望和我们的MES系统对接",
            "现有产线加装自动上料装置",
            "需要耐高温版本的密封件",
            "能否做一款防爆版本",
            "希望增加一键导出运行数据",
        ],
        "bodies": [
            "我们计划给现有设备加装远程监控，实时看到温度和转速，贵司能否提供？",
            "附上图纸，尺寸和标准件不同，请评估能否按图加工。",
            "希望设备数据能和我们的MES系统对接，自动上传产量。",
            "新产线需要耐高温两百度的密封件，现有产品达不到要求。",
            "请评估在现有产线上加装自动上料装置的可行性和周期。",
        ],
        "keyword_subjects": ["非标轴承定制需求", "新需求：产线改造"],
    },
    "product_inquiry": {
        "subjects": [
            "精密轴承在高转速下的承载能力",
            "液压泵能否替代进口产品",
            "有没有更小尺寸的刀具",
            "新一代传动部件的使用寿命",
            "海边工况的耐腐蚀性能",
            "请介绍一下新一代传动部件",
            "能否寄一份彩页",
        ],
        "bodies": [
            "想了解一下新一代传动部件的额定扭矩和使用寿命。",
            "我们现在用的是进口液压泵，贵司产品能否直接替代？",
            "请介绍一下精密轴承在高转速下的承载能力。",
            "海边工况，想知道表面处理的耐腐蚀性能如何。",
            "能否寄一份最新的彩页和介绍资料给我们技术部。",
        ],
        "keyword_subjects": ["刀具选型咨询", "请提供产品手册和规格参数"],
    },
    "other": {
        "subjects": [
            "邀请参加年度供应商大会",
            "工厂参观安排",
            "春节放假安排通知",
            "对接人变更",
            "请更新我们的通讯地址",
            "年会邀请",
            "安全培训通知",
        ],
        "bodies": [
            "我司将于下月举办年度供应商大会，诚邀贵司派代表参加。",
            "我们领导下周想去贵司工厂参观，请安排接待。",
            "春节期间我司放假时间为二月八日至十八日，特此通知。",
            "原对接人已调岗，今后请联系新的负责人。",
            "我司办公地址已搬迁，请更新通讯地址。",
        ],
        "keyword_subjects": [],
    },
}

HISTORY_CONSULTING: dict[str, dict[str, list[str]]] = {
    "technical_support": {
        "subjects": [
            "数据看板打不开",
            "登录提示账号被锁定",
            "导出的报表中文乱码",
            "模型计算结果对不上",
            "平台访问很慢",
            "接口返回空数据",
            "看板数字没有刷新",
        ],
        "bodies": [
            "我们的数据看板从今天上午开始打不开，页面一直转圈。",
            "导出的Excel报表中文显示乱码，请帮忙看看。",
            "登录时提示账号被锁定，重置密码后仍然进不去。",
            "上周上线的预测模型计算结果和手工核算对不上，差了百分之三。",
            "请安排顾问远程协助排查，今天下午需要给领导汇报。",
        ],
        "keyword_subjects": ["数据平台报错", "系统故障，无法登录"],
    },
    "delivery": {
        "subjects": [
            "阶段报告什么时候提交",
            "项目里程碑时间确认",
            "顾问驻场时间安排",
            "调研访谈排期",
            "终稿提交时间",
            "成果物清单确认",
            "下周驻场顾问名单",
        ],
        "bodies": [
            "第二阶段的诊断报告原定本周提交，请确认能否按时给到。",
            "下周一开始驻场，请确认顾问名单和到场时间。",
            "请把调研访谈的排期表发给我们，方便协调各部门负责人。",
            "董事会下月初召开，终稿最晚月底前提交。",
            "请确认项目里程碑节点，以及每个节点的成果物清单。",
        ],
        "keyword_subjects": ["报告交付延期", "交付延迟说明"],
    },
    "commercial": {
        "subjects": [
            "二期项目费用测算",
            "人天单价确认",
            "续约条款沟通",
            "招标文件澄清",
            "项目预算调整",
            "费用分期支付",
            "明年咨询费用控制",
        ],
        "bodies": [
            "二期项目预计四十个人天，请给出人天单价和总费用测算。",
            "今年预算收紧，项目费用能否分两期支付并适当下调？",
            "招标文件第三章的评分细则请在周三前回复。",
            "续约条款里的服务范围需要再确认一下。",
            "集团要求咨询费用控制在去年的水平。",
        ],
        "keyword_subjects": ["请报价：组织诊断项目", "合同续签的折扣"],
    },
    "billing": {
        "subjects": [
            "咨询费已汇出，请查收",
            "银行水单核对",
            "请开具收据",
            "收款账户变更通知",
            "款项到账确认",
            "年底结算明细",
            "余款抵扣说明",
        ],
        "bodies": [
            "上月咨询费已于15日通过银行转账汇出，请财务查收并回复到账情况。",
            "附件是银行水单，请核对金额并开具收据。",
            "我司收款账户信息已变更，请按新的账户信息更新。",
            "请财务确认款项是否到账，金额与订单一致。",
            "年底结算前请把未结清的款项列个明细发给我们。",
        ],
        "keyword_subjects": ["增值税发票开具申请", "对账单核对"],
    },
    "complaint": {
        "subjects": [
            "顾问频繁更换",
            "报告质量达不到预期",
            "催了三次没人回复",
            "要求更换项目经理",
            "成果和承诺差距很大",
            "再这样下去只能终止合作",
            "访谈安排很不专业",
        ],
        "bodies": [
            "项目开始两个月已经换了三位顾问，每次都要重新介绍情况。",
            "诊断报告大量内容是模板，和我们的实际情况不符。",
            "如果下个月还是这样，我们只能考虑终止合作。",
            "我们已经向集团领导汇报，希望贵司高层给个说法。",
            "访谈当天顾问迟到一个小时，部门负责人都在会议室等着。",
        ],
        "keyword_subjects": ["投诉：项目经理不负责", "对报告质量非常失望"],
    },
    "new_requirement": {
        "subjects": [
            "希望增加供应链模块的诊断",
            "能否做一套内训课程",
            "增加一个数字化成熟度评估",
            "希望顾问协助搭建数据中台",
            "增加一次高管工作坊",
            "希望把范围扩大到华南区域",
            "增加一个组织架构调整的专题",
        ],
        "bodies": [
            "在现有项目基础上，希望增加供应链模块的诊断，请评估工作量。",
            "希望贵司为中层管理者做一套内训课程，共四个专题。",
            "董事会希望增加一个数字化成熟度评估，和同行做对标。",
            "下半年希望顾问协助搭建数据中台，请先给个思路和周期。",
            "希望在年底前增加一次高管工作坊，讨论明年的战略重点。",
        ],
        "keyword_subjects": ["定制化培训需求", "新需求：风险模型开发"],
    },
    "product_inquiry": {
        "subjects": [
            "了解一下组织诊断服务",
            "数字化转型咨询的服务内容",
            "ESG咨询的服务范围",
            "行业对标研究介绍",
            "请寄一份服务介绍",
            "有没有零售行业的案例",
            "人才盘点服务怎么做",
        ],
        "bodies": [
            "想了解一下贵司组织诊断服务的内容、周期和团队配置。",
            "我们正在考虑数字化转型，想知道贵司的服务内容和过往案例。",
            "请介绍一下ESG咨询的服务范围和交付成果。",
            "有没有同行业的对标研究可以参考？",
            "能否寄一份最新的服务介绍给我们战略部。",
        ],
        "keyword_subjects": ["产品咨询：风控合规服务", "请提供产品手册"],
    },
    "other": HISTORY_MANUFACTURING["other"],
}

# --- recent needs: every status, breaches, the triage queue ------------------------------------

STORIES_MANUFACTURING: list[Story] = [
    # triage queue: senders KAM does not know
    Story(
        None,
        Channel.EMAIL,
        "询价：液压站备件",
        "您好，我们是新开的一家修造厂，想询价液压站备件，附件是清单，请尽快回复。",
        5,
        sender="zhang.wei@mail-unknown.cn",
    ),
    Story(
        None,
        Channel.DINGTALK,
        "设备异常报警，请尽快联系",
        "我是现场的陈工，设备一直在报警，麻烦技术人员尽快回电。",
        2,
        sender="钉钉用户 陈工",
    ),
    # no rule hits: waits for a person
    Story(9, Channel.WECOM, "麻烦回个电话", "上周说的那个事情，麻烦王经理方便时回个电话。", 3),
    # triaged, no reply yet
    Story(
        5,
        Channel.PORTAL,
        "储能柜项目样品申请",
        "新储能柜项目需要两套样品，并请提供产品手册和规格参数表。",
        1,
        priority=Priority.HIGH,
    ),
    Story(11, Channel.EMAIL, "请提供2027年度框架协议报价", "请按附件清单提供2027年度框架协议报价，下周五前回复。", 3),
    # in progress
    Story(
        0,
        Channel.PHONE,
        "唐山线转向架产线轴承异响，紧急停机",
        "转向架产线的主轴承出现异响，已紧急停机，请立即安排技术支持。",
        6,
        (
            reply(0.5, "已收到，技术支持工程师正在远程查看运行数据，一小时内给您回电。"),
            note(1, "已安排刘建国明早到现场，备件从天津仓调拨。"),
        ),
        priority=Priority.URGENT,
    ),
    Story(
        3,
        Channel.EMAIL,
        "第三批液压系统发货计划确认",
        "请确认第三批液压系统的发货时间，我们需要提前安排吊装。",
        20,
        (reply(3, "第三批预计下周三发货，物流单号届时同步给您。"),),
    ),
    Story(
        10,
        Channel.EMAIL,
        "Request for the datasheet of the precision bearing series",
        "Could you send the datasheet and the specification of the new precision bearing series? "
        "Our engineers compare three suppliers this month.",
        26,
        (reply(2, "Thank you, the datasheet is attached; our engineer will call you about the load figures."),),
    ),
    # waiting for the customer
    Story(
        7,
        Channel.EMAIL,
        "增值税专用发票抬头有误，需要重开",
        "上月的增值税专用发票抬头写成了旧公司名，请作废后重开。",
        30,
        (
            reply(2, "请提供新的开票信息和税号，我们收到后当天重开。"),
            status(2.5, S.WAITING_CUSTOMER, "等客户提供新的税号。"),
        ),
    ),
    Story(
        13,
        Channel.FEISHU,
        "医疗设备用传动部件的规格与认证材料",
        "注册检验需要传动部件的规格书和材质证明，请提供。",
        50,
        (
            reply(4, "规格书已发送，材质证明需要贵司提供具体批次号。"),
            status(4.5, S.WAITING_CUSTOMER, "等客户提供批次号。"),
        ),
    ),
    # resolved, rated
    Story(
        1,
        Channel.PORTAL,
        "液压系统固件升级失败",
        "按说明升级固件时升级失败，控制器无法启动。",
        96,
        (
            reply(1, "请先不要断电，我们远程连接后为您回滚固件。"),
            note(2, "固件包版本不匹配，已提供正确版本。"),
            status(8, S.RESOLVED, "回滚后重新升级成功。", 5),
        ),
    ),
    Story(
        14,
        Channel.PHONE,
        "风机变桨轴承到货时间",
        "变桨轴承什么时候到货？吊装窗口只有下周。",
        80,
        (reply(1.5, "已确认周六到货，物流信息已短信发送。"), status(30, S.RESOLVED, "客户确认收货。", 4)),
    ),
    Story(
        8,
        Channel.EMAIL,
        "对账单金额与发票不一致",
        "三季度对账单比发票金额少了一万二，请核对。",
        140,
        (
            reply(3, "差额是一笔退货的红字发票，明细已发您。"),
            status(40, S.RESOLVED, "客户财务确认对账无误。", 3),
        ),
    ),
    Story(
        13,
        Channel.EMAIL,
        "Invoice copy for PO 4500123",
        "Please send a copy of the invoice for PO 4500123, our auditors need it this week.",
        70,
        (reply(2, "The invoice copy is attached."), status(3, S.RESOLVED, "", 5)),
    ),
    # closed
    Story(
        2,
        Channel.EMAIL,
        "数控刀具选型咨询",
        "新加工中心用什么型号的刀具合适？请推荐选型。",
        480,
        (
            reply(2, "推荐两个型号，选型表已附上，可寄样品试切。"),
            status(48, S.RESOLVED, "客户试切满意。", 4),
            status(200, S.CLOSED),
        ),
    ),
    Story(
        15,
        Channel.MEETING,
        "港机项目非标定制：防腐涂层改造",
        "季度会议上客户提出港机部件需要非标防腐涂层，改造现有产品。",
        600,
        (
            note(4, "技术部评估可行，报价另行发送。"),
            reply(24, "定制方案和交期已发送，请确认。"),
            status(160, S.RESOLVED, "客户确认方案。", 5),
            status(300, S.CLOSED),
        ),
    ),
    Story(
        4,
        Channel.EMAIL,
        "投诉：备件交付延迟两周",
        "备件交付延迟两周，严重影响了船坞检修计划，我们非常不满。",
        700,
        (
            reply(2, "非常抱歉，已查明是外协件延误，今天安排专车送达。"),
            note(3, "已报陈总，下季度复盘外协交期。"),
            status(30, S.RESOLVED, "专车送达，客户接受道歉。", 2),
            status(200, S.CLOSED),
        ),
        priority=Priority.HIGH,
    ),
    # reopened: resolved, then the fault came back
    Story(
        6,
        Channel.WECOM,
        "储能系统通讯模块异常",
        "储能系统通讯模块异常，监控后台收不到数据。",
        120,
        (
            reply(1, "已远程重启通讯模块，请确认数据是否恢复。"),
            status(5, S.RESOLVED, "客户确认数据恢复。"),
            status(72, S.IN_PROGRESS, "客户反馈问题复现，重新打开，安排现场排查。"),
        ),
    ),
    # a person corrects the rules: 维修 (technical) and 合同 (commercial) tie, technical wins
    Story(
        16,
        Channel.EMAIL,
        "设备维修合同续签",
        "明年的设备维修合同快到期了，想谈一下续签条件。",
        40,
        (reply(3, "续签条件已整理，本周内发您。"),),
        recategorise="commercial",
    ),
    # breached: first response late and resolution overdue
    Story(
        12,
        Channel.PHONE,
        "破碎机传动部件故障",
        "破碎机传动部件故障，矿山停产，请尽快派人。",
        288,
        (
            reply(30, "抱歉回复晚了，工程师已出发。"),
            note(60, "备件缺货，等供应商到货。"),
        ),
        priority=Priority.HIGH,
    ),
    Story(
        16,
        Channel.EMAIL,
        "投诉：售后响应太慢",
        "设备坏了三天没人管，这样的服务态度让我们非常失望。",
        192,
    ),
    Story(
        9,
        Channel.EMAIL,
        "交货延期，影响装配",
        "约定的交货期已过五天，装配线等料，请给出明确交货时间。",
        216,
        (
            reply(20, "已协调工厂加班，预计三天内交货。"),
            status(150, S.RESOLVED, "货已送达。", 2),
        ),
    ),
]

STORIES_CONSULTING: list[Story] = [
    Story(
        None,
        Channel.EMAIL,
        "询价：组织诊断项目",
        "您好，我们是一家城商行，想询价组织诊断项目，请联系我们。",
        4,
        sender="hr.office@bank-unknown.cn",
    ),
    Story(None, Channel.FEISHU, "看板报错", "数据看板报错，进不去了，谁能帮忙看看？", 2, sender="飞书用户 李经理"),
    Story(7, Channel.WECOM, "麻烦回个电话", "上次会上说的事情，麻烦孙经理方便时回个电话。", 3),
    Story(
        4,
        Channel.PORTAL,
        "新门店选址模型的产品咨询",
        "想了解门店选址模型的服务内容和规格，请发一份介绍。",
        1,
        priority=Priority.HIGH,
    ),
    Story(2, Channel.EMAIL, "请提供二期项目报价", "二期范围已确认，请提供报价，下周五前回复。", 3),
    Story(
        0,
        Channel.PHONE,
        "风险数据平台报错，董事会材料无法生成",
        "风险数据平台报错，明早董事会的材料生成不了，请紧急技术支持。",
        6,
        (reply(0.5, "已收到，顾问正在远程排查。"), note(1, "数据源字段变更导致，今晚修复。")),
        priority=Priority.URGENT,
    ),
    Story(
        5,
        Channel.EMAIL,
        "阶段报告交付时间",
        "第二阶段报告原计划已经延期两天，请确认交付时间。",
        20,
        (reply(3, "预计下周三交付初稿。"),),
    ),
    Story(
        6,
        Channel.EMAIL,
        "Request for product information: the data governance review",
        "Could you share the specification and the team of the data governance review? Our CTO reads it this week.",
        26,
        (reply(2, "The scope document is attached; our partner will call you."),),
    ),
    Story(
        3,
        Channel.EMAIL,
        "发票抬头有误，需要重开",
        "上月发票抬头写成了集团名称，请作废后重开。",
        30,
        (
            reply(2, "请提供新的开票信息和税号。"),
            status(2.5, S.WAITING_CUSTOMER, "等客户提供税号。"),
        ),
    ),
    Story(
        1,
        Channel.PORTAL,
        "报表系统升级失败",
        "报表系统升级失败，无法启动。",
        96,
        (reply(1, "已远程回滚，请再试。"), status(8, S.RESOLVED, "升级成功。", 5)),
    ),
    Story(
        8,
        Channel.EMAIL,
        "对账单金额与发票不一致",
        "三季度对账单比发票金额少了两万，请核对。",
        140,
        (reply(3, "差额是一笔预付款抵扣，明细已发您。"), status(40, S.RESOLVED, "客户确认。", 3)),
    ),
    Story(
        2,
        Channel.MEETING,
        "定制化的合规培训",
        "季度会上客户提出需要定制化的合规培训，共三场。",
        600,
        (
            reply(24, "培训大纲已发送。"),
            status(160, S.RESOLVED, "客户确认大纲。", 5),
            status(300, S.CLOSED),
        ),
    ),
    Story(
        4,
        Channel.WECOM,
        "门店数据接口异常",
        "门店数据接口异常，看板没有昨天的数据。",
        120,
        (
            reply(1, "已重启同步任务，请确认。"),
            status(5, S.RESOLVED, "数据已补齐。"),
            status(72, S.IN_PROGRESS, "客户反馈今天又缺数据，重新打开。"),
        ),
    ),
    Story(
        5,
        Channel.EMAIL,
        "维修合同续签",
        "系统运维的维修合同快到期了，想谈续签。",
        40,
        (reply(3, "续签条件本周发您。"),),
        recategorise="commercial",
    ),
    Story(
        0,
        Channel.PHONE,
        "模型运行故障",
        "信用评分模型运行故障，审批暂停。",
        288,
        (reply(30, "抱歉回复晚了，顾问已介入。"),),
        priority=Priority.HIGH,
    ),
    Story(8, Channel.EMAIL, "投诉：项目经理不负责", "项目经理多次不回消息，我们非常失望。", 192),
    Story(
        3,
        Channel.EMAIL,
        "报告交付延期",
        "约定的报告交付已延期五天，请给出明确时间。",
        216,
        (reply(20, "已加派人手，三天内交付。"), status(150, S.RESOLVED, "已交付。", 2), status(180, S.CLOSED)),
    ),
]

# Needs in words no rule knows, captured after the model is trained: the model classifies them.
MODEL_NEEDS = {
    "manufacturing": [
        (
            8,
            Channel.WECOM,
            "主轴振动偏大，温升也高",
            "今早开机后主轴振动值明显偏大，运行一小时温度升到七十度，请派工程师到现场。",
        ),
        (5, Channel.EMAIL, "剩余备件请尽快送到现场仓库", "请告知承运车辆的车牌号，剩余备件最好周五前送到现场仓库。"),
        (10, Channel.EMAIL, "货款已汇出，请查收", "本月货款已通过银行转账汇出，附银行水单，请财务查收并开具收据。"),
        (
            3,
            Channel.PORTAL,
            "明年用量增加，单价能否下调",
            "我们明年预计用量增加三成，希望单价能相应下调，请给出不同数量档的单价。",
        ),
    ],
    "consulting": [
        (6, Channel.WECOM, "数据看板又打不开了", "数据看板从今天上午开始打不开，页面一直转圈，请安排顾问远程协助。"),
        (2, Channel.EMAIL, "终稿提交时间确认", "董事会下月初召开，请确认终稿提交时间和成果物清单。"),
        (1, Channel.EMAIL, "咨询费已汇出，请查收", "本月咨询费已通过银行转账汇出，附银行水单，请财务查收并开具收据。"),
        (7, Channel.PORTAL, "二期人天单价确认", "二期项目预计四十个人天，请给出人天单价和总费用测算。"),
    ],
}


def load(tenant: Tenant, people: dict[str, Any]) -> None:
    """Loads the demo needs of one tenant once (nothing when it has needs already)."""
    consulting = tenant.industry_profile == "consulting"
    with tenant_context(tenant):
        if Need.objects.exists():
            return
        services.categories_seed_default(tenant)
        accounts = list(Account.objects.order_by("id"))
        if not accounts:
            return
        categories = {category.key: category for category in Category.objects.all()}
        contacts: dict[int, Contact] = {}
        for contact in Contact.objects.filter(left_on__isnull=True).order_by("id"):
            contacts.setdefault(contact.account_id, contact)
        now = timezone.now()
        times: dict[int, list[dt.datetime]] = {}
        history = HISTORY_CONSULTING if consulting else HISTORY_MANUFACTURING
        _history(tenant, history, accounts, contacts, categories, people, now, times)
        for story in STORIES_CONSULTING if consulting else STORIES_MANUFACTURING:
            _story(tenant, story, accounts, contacts, categories, people, now, times)
        _retime(times)
    if _train(tenant):
        with tenant_context(tenant):
            for index, channel, subject, body in MODEL_NEEDS["consulting" if consulting else "manufacturing"]:
                account = accounts[index % len(accounts)]
                services.need_create(
                    tenant,
                    subject=subject,
                    body=body,
                    channel=channel,
                    account=account,
                    contact=contacts.get(account.pk),
                    received_at=now - dt.timedelta(minutes=20 + 35 * index),
                )


def _history(
    tenant: Tenant,
    history: dict[str, dict[str, list[str]]],
    accounts: list[Account],
    contacts: dict[int, Contact],
    categories: dict[str, Category],
    people: dict[str, Any],
    now: dt.datetime,
    times: dict[int, list[dt.datetime]],
) -> None:
    """Needs a person classified and resolved within the SLA over the last year, rated 3 to 5,
    closed a week later; one in four has a keyword of the rules in its subject. Written in
    bulk, as an import of past needs would be (the services' routing and SLA, no thread
    entry per statement): seed_demo runs on every `make run`."""
    channels = [Channel.EMAIL, Channel.PHONE, Channel.WECOM, Channel.PORTAL, Channel.EMAIL, Channel.DINGTALK]
    routes: dict[tuple[int, str], services.Route] = {}
    needs: list[Need] = []
    serial = 0
    for key, texts in history.items():
        category = categories[key]
        for i in range(HISTORY_PER_CATEGORY):
            serial += 1
            keyword_subjects = texts["keyword_subjects"]
            if keyword_subjects and i % 4 == 3:
                subject = keyword_subjects[(i // 4) % len(keyword_subjects)]
            else:
                subject = texts["subjects"][i % len(texts["subjects"])]
            bodies = texts["bodies"]
            account = accounts[(serial * 7) % len(accounts)]
            contact = contacts.get(account.pk)
            if (account.pk, key) not in routes:
                routes[account.pk, key] = services.route(tenant, account, category)
            routed = routes[account.pk, key]
            received = now - dt.timedelta(days=14 + (serial * 53) % HISTORY_DAYS, hours=serial % 9)
            first_due, resolution_due = services.sla_due(account.tier, Priority.NORMAL, received)
            closed = received < now - dt.timedelta(days=21)
            needs.append(
                Need(
                    tenant=tenant,
                    account=account,
                    contact=contact,
                    channel=channels[serial % len(channels)],
                    sender=contact.name if contact else "",
                    subject=subject,
                    body=bodies[i % len(bodies)] + bodies[(i + 2) % len(bodies)],
                    received_at=received,
                    category=category,
                    category_source=CategorySource.PERSON,
                    classification={"person": True},
                    status=NeedStatus.CLOSED if closed else NeedStatus.RESOLVED,
                    function=routed.function,
                    assignee=routed.assignee,
                    first_response_due_at=first_due,
                    resolution_due_at=resolution_due,
                    satisfaction=3 + serial % 3,
                    created_by=people["member"],
                )
            )
    Need.objects.bulk_create(needs)
    entries: list[NeedEntry] = []
    for need in needs:
        author = need.assignee or people["manager"]
        thread = [
            (0, EntryKind.MESSAGE, None, need.body, {}),
            (1, EntryKind.REPLY, author, "收到，我们已安排专人跟进，今天内给您答复。", {}),
            (18, EntryKind.STATUS, author, "", {"from": NeedStatus.IN_PROGRESS, "to": NeedStatus.RESOLVED}),
        ]
        if need.status == NeedStatus.CLOSED:
            thread.append(
                (18 + 24 * 7, EntryKind.STATUS, author, "", {"from": NeedStatus.RESOLVED, "to": NeedStatus.CLOSED})
            )
        entries += [
            NeedEntry(tenant=tenant, need=need, kind=kind, author=who, body=text, change=change)
            for _hours, kind, who, text, change in thread
        ]
        times[need.pk] = [need.received_at + dt.timedelta(hours=hours) for hours, *_rest in thread]
    NeedEntry.objects.bulk_create(entries)


def _story(
    tenant: Tenant,
    story: Story,
    accounts: list[Account],
    contacts: dict[int, Contact],
    categories: dict[str, Category],
    people: dict[str, Any],
    now: dt.datetime,
    times: dict[int, list[dt.datetime]],
) -> None:
    account = accounts[story.account % len(accounts)] if story.account is not None else None
    contact = contacts.get(account.pk) if account else None
    received = now - dt.timedelta(hours=story.hours_ago)
    need, _created = services.need_create(
        tenant,
        subject=story.subject,
        body=story.body,
        channel=story.channel,
        account=account,
        contact=contact,
        sender=story.sender or (contact.name if contact else ""),
        received_at=received,
        priority=story.priority,
    )
    actor: User = need.assignee or people["manager"]
    steps = list(story.steps)
    if story.recategorise:
        need = services.need_set_category(
            tenant, need=need, category=categories[story.recategorise], actor=people["manager"]
        )
        actor = need.assignee or actor
        steps.insert(0, Step(0.3, "category"))
    _play(tenant, need, steps, actor, received, now, times)


def _play(
    tenant: Tenant,
    need: Need,
    steps: list[Step],
    actor: User,
    received: dt.datetime,
    now: dt.datetime,
    times: dict[int, list[dt.datetime]],
) -> None:
    """Runs the steps through the services and notes when each happened (one thread entry
    each), for _retime. A "category" step was run by the caller already."""
    for step in steps:
        if step.kind == "reply":
            services.need_reply(tenant, need=need, body=step.text, actor=actor)
        elif step.kind == "note":
            services.need_reply(tenant, need=need, body=step.text, actor=actor, internal=True)
        elif step.kind == "status":
            need = services.need_set_status(
                tenant, need=need, status=step.status, actor=actor, note=step.text, satisfaction=step.satisfaction
            )
    latest = now - dt.timedelta(minutes=5)
    times[need.pk] = [received] + [min(received + dt.timedelta(hours=step.hours), latest) for step in steps]


def _retime(times: dict[int, list[dt.datetime]]) -> None:
    """Sets the thread entries and the needs' first response, resolution and closing back to
    the stories' times (the services stamped them "now"): the n-th entry of a need happened at
    its n-th time, and the need's times follow from its entries."""
    entries = list(NeedEntry.objects.filter(need_id__in=list(times)).order_by("need_id", "id"))
    by_need: dict[int, list[NeedEntry]] = {}
    for entry in entries:
        by_need.setdefault(entry.need_id, []).append(entry)
    needs = list(Need.objects.filter(pk__in=list(times)))
    for need in needs:
        thread = by_need.get(need.pk, [])
        moments = times[need.pk]
        if len(thread) != len(moments):
            raise RuntimeError(f"demo need {need.pk}: {len(thread)} entries for {len(moments)} times")
        need.first_response_at = need.resolved_at = need.closed_at = None
        for entry, moment in zip(thread, moments, strict=True):
            entry.created_at = moment
            if entry.kind == EntryKind.REPLY and need.first_response_at is None:
                need.first_response_at = moment
            elif entry.kind == EntryKind.STATUS:
                to = entry.change.get("to")
                if to == NeedStatus.RESOLVED:
                    need.resolved_at = moment
                elif to == NeedStatus.CLOSED:
                    need.closed_at = moment
                    need.resolved_at = need.resolved_at or moment
                elif entry.change.get("from") == NeedStatus.RESOLVED:
                    need.resolved_at = None
        need.created_at = need.received_at
        need.updated_at = moments[-1]
    NeedEntry.objects.bulk_update(entries, ["created_at"], batch_size=500)
    Need.objects.bulk_update(
        needs, ["first_response_at", "resolved_at", "closed_at", "created_at", "updated_at"], batch_size=500
    )


def _train(tenant: Tenant) -> bool:
    """Trains the tenant's text model on the history; True when the model is in use."""
    from service import learning

    model = learning.classifier_train(tenant)
    return model is not None and model.is_used
