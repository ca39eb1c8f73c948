<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="zh_CN">
<context>
    <name>Kiosk</name>
    <message>
        <source>打印</source>
        <translation>Print</translation>
    </message>
    <message>
        <source>打印好了，请取走小票</source>
        <translation>Printed: take your slips</translation>
    </message>
    <message>
        <source>打印要办的事（{count}件）</source>
        <translation>Print what to do ({count})</translation>
    </message>
    <message>
        <source>打印好了</source>
        <translation>Printed</translation>
    </message>
    <message>
        <source>正在打印…</source>
        <translation>Printing…</translation>
    </message>
    <message>
        <source>正在打印，请稍等。</source>
        <translation>Printing, please wait.</translation>
    </message>
    <message>
        <source>打印好了，请取走小票。</source>
        <translation>Printed. Please take your slip.</translation>
    </message>
    <message>
        <source>打印纸用完了，工作人员会来换。</source>
        <translation>The printer is out of paper. Staff will refill it.</translation>
    </message>
    <message>
        <source>打印机的盖子开着，请工作人员帮忙关好。</source>
        <translation>The printer's cover is open. Please ask staff to close it.</translation>
    </message>
    <message>
        <source>打印机卡纸了，请工作人员帮忙。</source>
        <translation>The printer is jammed. Please ask staff for help.</translation>
    </message>
    <message>
        <source>打印机暂时不能用。</source>
        <translation>The printer cannot be used at the moment.</translation>
    </message>
    <message>
        <source>请插入社保卡</source>
        <translation>Please insert your social security card</translation>
    </message>
    <message>
        <source>芯片一端朝下，插入读卡口，插到底</source>
        <translation>Chip end first, into the slot, all the way in</translation>
    </message>
    <message>
        <source>最新消息</source>
        <translation>Latest news</translation>
    </message>
    <message>
        <source>您好！请把社保卡插入读卡口，插到底。</source>
        <translation>Hello! Please put your social security card into the slot, all the way in.</translation>
    </message>
    <message>
        <source>正在读卡，请不要拔卡</source>
        <translation>Reading your card. Please do not take it out</translation>
    </message>
    <message>
        <source>正在读卡，请不要拔卡。</source>
        <translation>Reading your card. Please do not take it out.</translation>
    </message>
    <message>
        <source>请输入社保卡密码</source>
        <translation>Please enter your card PIN</translation>
    </message>
    <message>
        <source>6位数字密码，输完自动核对</source>
        <translation>6 digits; checked as soon as you enter the last one</translation>
    </message>
    <message>
        <source>还可以试{tries}次</source>
        <translation>Tries left: {tries}</translation>
    </message>
    <message>
        <source>密码不对，请重新输入</source>
        <translation>Wrong PIN. Please try again</translation>
    </message>
    <message>
        <source>再输错一次，社保卡将被锁定</source>
        <translation>One more wrong PIN will lock your card</translation>
    </message>
    <message>
        <source>正在核对密码…</source>
        <translation>Checking your PIN…</translation>
    </message>
    <message>
        <source>删除</source>
        <translation>Delete</translation>
    </message>
    <message>
        <source>请输入六位社保卡密码。</source>
        <translation>Please enter your six-digit card PIN.</translation>
    </message>
    <message>
        <source>请输入社保卡密码，还可以试{tries}次。</source>
        <translation>Please enter your card PIN. You have {tries} tries left.</translation>
    </message>
    <message>
        <source>密码不对，还可以试{tries}次。请重新输入。</source>
        <translation>That PIN is wrong. You have {tries} tries left. Please try again.</translation>
    </message>
    <message>
        <source>密码不对。请注意，再输错一次，社保卡就会被锁定。</source>
        <translation>That PIN is wrong. Please be careful: one more wrong PIN will lock your card.</translation>
    </message>
    <message>
        <source>密码不对，请重新输入。</source>
        <translation>That PIN is wrong. Please try again.</translation>
    </message>
    <message>
        <source>正在核对密码，请稍候。</source>
        <translation>Checking your PIN, please wait.</translation>
    </message>
    <message>
        <source>社保卡密码已锁定</source>
        <translation>Your card PIN is locked</translation>
    </message>
    <message>
        <source>请取回社保卡，带上身份证，到人工窗口解锁。</source>
        <translation>Please take your card and your ID card to the service counter to unlock it.</translation>
    </message>
    <message>
        <source>密码已经锁定。请取回社保卡，带上身份证，到人工窗口办理。</source>
        <translation>Your PIN is locked. Please take your card and your ID card to the service counter.</translation>
    </message>
    <message>
        <source>您的社保卡已过期</source>
        <translation>Your card has expired</translation>
    </message>
    <message>
        <source>有效期到{date}。请带上身份证，到人工窗口免费换卡。</source>
        <translation>It was valid until {date}. Bring your ID card to the service counter for a free new card.</translation>
    </message>
    <message>
        <source>查看我的消息</source>
        <translation>See my messages</translation>
    </message>
    <message>
        <source>您的社保卡已经过期，请到人工窗口换卡。要看您的消息，请点“查看我的消息”。</source>
        <translation>Your card has expired. Please get a new one at the service counter. To see your messages, press “See my messages”.</translation>
    </message>
    <message>
        <source>{surname}{honorific}，您好！</source>
        <translation>Hello, {honorific} {surname}!</translation>
    </message>
    <message>
        <source>您好！</source>
        <translation>Hello!</translation>
    </message>
    <message>
        <source>给您的消息，最要紧的在最上面</source>
        <translation>Your messages, the most important first</translation>
    </message>
    <message>
        <source>正在查询您的个人消息…</source>
        <translation>Looking up your personal messages…</translation>
    </message>
    <message>
        <source>现在查不到您的个人消息，请到人工窗口咨询。</source>
        <translation>Personal messages are not available now. Please ask at the counter.</translation>
    </message>
    <message>
        <source>还有{count}条消息</source>
        <translation>{count} more</translation>
    </message>
    <message>
        <source>现在没有给您的消息</source>
        <translation>There are no messages for you now</translation>
    </message>
    <message>
        <source>办完了，退卡</source>
        <translation>Done, return my card</translation>
    </message>
    <message>
        <source>信息更新于{when}</source>
        <translation>Information as of {when}</translation>
    </message>
    <message>
        <source>✓ 已读</source>
        <translation>✓ Read</translation>
    </message>
    <message>
        <source>截止{date}</source>
        <translation>Due {date}</translation>
    </message>
    <message>
        <source>先生</source>
        <translation>Mr</translation>
    </message>
    <message>
        <source>女士</source>
        <translation>Ms</translation>
    </message>
    <message>
        <source>返回</source>
        <translation>Back</translation>
    </message>
    <message>
        <source>截止日期：{date}</source>
        <translation>Deadline: {date}</translation>
    </message>
    <message>
        <source>朗读</source>
        <translation>Read aloud</translation>
    </message>
    <message>
        <source>请带上：{things}</source>
        <translation>Bring: {things}</translation>
    </message>
    <message>
        <source>用手机扫一扫，在手机上接着办</source>
        <translation>Scan to go on with your phone</translation>
    </message>
    <message>
        <source>已读</source>
        <translation>Mark as read</translation>
    </message>
    <message>
        <source>不再接收同类</source>
        <translation>No more like this</translation>
    </message>
    <message>
        <source>稍后提醒</source>
        <translation>Remind me later</translation>
    </message>
    <message>
        <source>好的，已经标为已读。</source>
        <translation>All right, marked as read.</translation>
    </message>
    <message>
        <source>好的，这类消息以后不再提醒您。</source>
        <translation>All right, you will not get this kind of message again.</translation>
    </message>
    <message>
        <source>好的，以后再提醒您。</source>
        <translation>All right, we will remind you later.</translation>
    </message>
    <message>
        <source>上一页</source>
        <translation>Previous</translation>
    </message>
    <message>
        <source>下一页</source>
        <translation>Next</translation>
    </message>
    <message>
        <source>请取回您的社保卡</source>
        <translation>Please take your card</translation>
    </message>
    <message>
        <source>您对这次服务满意吗？</source>
        <translation>Were you happy with this service?</translation>
    </message>
    <message>
        <source>满意</source>
        <translation>Happy</translation>
    </message>
    <message>
        <source>一般</source>
        <translation>So-so</translation>
    </message>
    <message>
        <source>不满意</source>
        <translation>Unhappy</translation>
    </message>
    <message>
        <source>谢谢您的评价！</source>
        <translation>Thank you for your rating!</translation>
    </message>
    <message>
        <source>请取回您的社保卡。您对这次服务满意吗？</source>
        <translation>Please take your card. Were you happy with this service?</translation>
    </message>
    <message>
        <source>请取回您的社保卡。</source>
        <translation>Please take your card.</translation>
    </message>
    <message>
        <source>设备维护中</source>
        <translation>Under maintenance</translation>
    </message>
    <message>
        <source>读卡设备正在维护，请稍候，或到人工窗口办理。</source>
        <translation>The card reader is being serviced. Please wait, or go to the service counter.</translation>
    </message>
    <message>
        <source>读卡器没有连接</source>
        <translation>No card reader connected</translation>
    </message>
    <message>
        <source>这台机器现在不能读卡，请到人工窗口办理。</source>
        <translation>This machine cannot read cards now. Please go to the service counter.</translation>
    </message>
    <message>
        <source>这张卡读不出来</source>
        <translation>This card cannot be read</translation>
    </message>
    <message>
        <source>这台机器出了点问题</source>
        <translation>This machine has a problem</translation>
    </message>
    <message>
        <source>这不是社保卡。请取出，换社保卡插入。</source>
        <translation>This is not a social security card. Please take it out and insert your social security card.</translation>
    </message>
    <message>
        <source>这张卡读不出来。请取出再插一次；还不行，请到人工窗口。</source>
        <translation>This card cannot be read. Please take it out and insert it again. If that fails, go to the service counter.</translation>
    </message>
    <message>
        <source>卡被拔出来了。请重新插入，插好后不要拔。</source>
        <translation>The card came out too early. Please insert it again and leave it in.</translation>
    </message>
    <message>
        <source>这台机器暂时读不了新版社保卡。您的卡没有问题，请到人工窗口办理。</source>
        <translation>This machine cannot read new social security cards just now. Your card is fine. Please go to the service counter.</translation>
    </message>
    <message>
        <source>这张卡无法识别。请取出卡，到人工窗口办理。</source>
        <translation>This card cannot be recognised. Please take it out and go to the service counter.</translation>
    </message>
    <message>
        <source>您的社保卡需要到人工窗口处理一下。请带上身份证。</source>
        <translation>Your card needs to be seen to at the service counter. Please bring your ID card.</translation>
    </message>
    <message>
        <source>供工作人员：本机 PSAM 的密钥不对，用掉了卡片最后一次机会，卡片读取密钥已锁定</source>
        <translation>For staff: this PSAM's key is wrong and used up the card's last try; the card's read key is now blocked</translation>
    </message>
    <message>
        <source>这张社保卡需要到人工窗口处理一下。请带上身份证。</source>
        <translation>This card needs to be seen to at the service counter. Please bring your ID card.</translation>
    </message>
    <message>
        <source>供工作人员：本机未配置安全模块（PSAM），三代卡需要它</source>
        <translation>For staff: no security module (PSAM) is configured; third-generation cards need one</translation>
    </message>
    <message>
        <source>供工作人员：安全模块（PSAM）不在卡座里</source>
        <translation>For staff: the security module (PSAM) is not in its slot</translation>
    </message>
    <message>
        <source>供工作人员：安全模块不是社保 PSAM</source>
        <translation>For staff: the security module is not a social security PSAM</translation>
    </message>
    <message>
        <source>供工作人员：安全模块（PSAM）已锁定</source>
        <translation>For staff: the security module (PSAM) is locked</translation>
    </message>
    <message>
        <source>供工作人员：安全模块（PSAM）拒绝计算</source>
        <translation>For staff: the security module (PSAM) refused to compute</translation>
    </message>
    <message>
        <source>供工作人员：卡片不接受本机 PSAM 的密钥，未再重试</source>
        <translation>For staff: the card rejected this PSAM's key; not tried again</translation>
    </message>
    <message>
        <source>供工作人员：认证中安全模块（PSAM）被拔出</source>
        <translation>For staff: the security module (PSAM) was pulled out during the authentication</translation>
    </message>
    <message>
        <source>供工作人员：内部认证失败，卡片不是真卡或已损坏</source>
        <translation>For staff: internal authentication failed; the card is not genuine or is damaged</translation>
    </message>
    <message>
        <source>供工作人员：卡片的读取密钥（RKSSSE）已锁定</source>
        <translation>For staff: the card's read key (RKSSSE) is blocked</translation>
    </message>
    <message>
        <source>这张社保卡已锁定，请带上身份证到人工窗口办理。</source>
        <translation>This card is locked. Please bring your ID card to the service counter.</translation>
    </message>
    <message>
        <source>您还在吗？{seconds}秒后将退出。要继续，请点“继续”。</source>
        <translation>Are you still there? The session ends in {seconds} seconds. To go on, press “Continue”.</translation>
    </message>
    <message>
        <source>您还在吗？</source>
        <translation>Are you still there?</translation>
    </message>
    <message>
        <source>{seconds}秒后退出</source>
        <translation>Ends in {seconds} seconds</translation>
    </message>
    <message>
        <source>继续</source>
        <translation>Continue</translation>
    </message>
    <message>
        <source>请工作人员帮忙</source>
        <translation>Ask for help</translation>
    </message>
    <message>
        <source>刚刚已通知</source>
        <translation>Called just now</translation>
    </message>
    <message>
        <source>{minutes}分钟前已通知</source>
        <translation>Called {minutes} min ago</translation>
    </message>
    <message>
        <source>已经通知工作人员，请稍候。</source>
        <translation>Staff have been called. Please wait.</translation>
    </message>
    <message>
        <source>工作人员马上就到，请稍等。</source>
        <translation>Staff are on the way. Please wait.</translation>
    </message>
    <message>
        <source>再说一遍</source>
        <translation>Repeat</translation>
    </message>
    <message>
        <source>大字</source>
        <translation>Large text</translation>
    </message>
    <message>
        <source>高对比</source>
        <translation>High contrast</translation>
    </message>
    <message>
        <source>语音</source>
        <translation>Voice</translation>
    </message>
    <message>
        <source>慢速</source>
        <translation>Slower</translation>
    </message>
    <message>
        <source>小声</source>
        <translation>Quieter</translation>
    </message>
    <message>
        <source>大声</source>
        <translation>Louder</translation>
    </message>
    <message>
        <source>普通话</source>
        <translation>Mandarin</translation>
    </message>
    <message>
        <source>粤语</source>
        <translation>Cantonese</translation>
    </message>
    <message>
        <source>English</source>
        <translation>中文</translation>
    </message>
    <message>
        <source>养老金</source>
        <translation>Pension</translation>
    </message>
    <message>
        <source>资格认证</source>
        <translation>Certify</translation>
    </message>
    <message>
        <source>缴费提醒</source>
        <translation>Payment</translation>
    </message>
    <message>
        <source>社保卡</source>
        <translation>Card</translation>
    </message>
    <message>
        <source>报销</source>
        <translation>Refund</translation>
    </message>
    <message>
        <source>政策</source>
        <translation>Policy</translation>
    </message>
    <message>
        <source>办理进度</source>
        <translation>Your case</translation>
    </message>
    <message>
        <source>大厅公告</source>
        <translation>Hall</translation>
    </message>
    <message>
        <source>紧急</source>
        <translation>Urgent</translation>
    </message>
    <message>
        <source>重要</source>
        <translation>Important</translation>
    </message>
</context>
</TS>
