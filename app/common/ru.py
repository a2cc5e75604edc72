"""The Russian catalogue of the API's messages: English message id → Russian sentence.

Placeholders (`{status}`) stay as in the id. tests/foundation/test_message_catalogue.py finds every message
the code raises and fails on one missing here.
"""

RU: dict[str, str] = {
    # --- HTTP errors (app/errors.py) ---
    "The request could not be read; send valid JSON.": "Не удалось прочитать запрос; отправьте корректный JSON.",
    "Log in to continue.": "Войдите, чтобы продолжить.",
    "You may not do this.": "У вас нет прав на это действие.",
    "Nothing is here; check the address.": "По этому адресу ничего нет; проверьте адрес.",
    "This address does not take this method; the Allow header lists the ones it takes.": (
        "Этот адрес не принимает такой метод; допустимые перечислены в заголовке Allow."
    ),
    "The request is too large; send a smaller one.": "Запрос слишком большой; отправьте поменьше.",
    "This content type is not accepted here; send JSON.": "Такой тип содержимого здесь не принимается; отправьте JSON.",
    "Some fields are not valid; correct the ones named in errors and send again.": (
        "Некоторые поля заполнены неверно; исправьте поля, перечисленные в errors, и отправьте снова."
    ),
    "Too many requests; wait as long as Retry-After says, then try again.": (
        "Слишком много запросов; подождите столько, сколько указано в Retry-After, и повторите."
    ),
    "Something went wrong on our side; try again, and tell support if it keeps happening.": (
        "У нас что-то пошло не так; повторите попытку, а если ошибка повторяется, сообщите в поддержку."
    ),
    "The service is unavailable for a moment; try again shortly.": "Сервис ненадолго недоступен; повторите чуть позже.",
    "The database is unavailable; try again shortly.": "База данных недоступна; повторите чуть позже.",
    "Cannot reach the {component} service; try again shortly.": (
        "Нет связи с сервисом «{component}»; повторите чуть позже."
    ),
    # --- logging in, tokens, shops of the caller ---
    "Your role may not do this; ask the shop's admin.": (
        "Вашей роли это действие недоступно; обратитесь к администратору магазина."
    ),
    "You are not a member of any shop; ask a shop to invite you.": (
        "Вы не состоите ни в одном магазине; попросите магазин пригласить вас."
    ),
    "Choose a shop: you belong to several. Send its id in X-Shop-Id.": (
        "Выберите магазин: вы работаете в нескольких. Укажите его номер в X-Shop-Id."
    ),
    "X-Shop-Id must be a shop id.": "X-Shop-Id должен быть номером магазина.",
    "Shop not found.": "Магазин не найден.",
    "Trusted identity service tokens are not enabled.": "Вход через доверенный сервис идентификации не включён.",
    "Send the identity service's token as the Bearer token.": "Отправьте токен сервиса идентификации как Bearer-токен.",
    "The identity token was rejected; log in to the identity service again.": (
        "Токен сервиса идентификации отклонён; войдите в сервис идентификации заново."
    ),
    "Login codes are unavailable right now; try again shortly or log in with a password.": (
        "Коды для входа сейчас недоступны; повторите чуть позже или войдите по паролю."
    ),
    "The code is wrong or has expired; ask for a new one.": "Код неверный или истёк; запросите новый.",
    "Too many attempts; wait before trying again.": "Слишком много попыток; подождите, прежде чем пробовать снова.",
    "The refresh token is no longer valid; log in again.": "Токен обновления больше не действует; войдите заново.",
    "Wrong phone, e-mail or password.": "Неверный телефон, e-mail или пароль.",
    "If this phone belongs to staff, a code is on its way.": (
        "Если этот телефон принадлежит сотруднику, код уже в пути."
    ),
    "Authentication required: send a Bearer access token.": "Нужен вход: отправьте токен доступа (Bearer).",
    "The token is invalid; log in again.": "Токен недействителен; войдите заново.",
    "The token has expired; refresh it or log in again.": (
        "Срок действия токена истёк; обновите его или войдите заново."
    ),
    "The token has been revoked; log in again.": "Токен отозван; войдите заново.",
    "The token's user is unknown or inactive.": "Пользователь токена не найден или отключён.",
    "A fresh login is required.": "Нужно войти заново.",
    "The token was rejected; log in again.": "Токен отклонён; войдите заново.",
    "Idempotency-Key must be 1 to 255 characters, none of them control characters.": (
        "Idempotency-Key должен быть длиной от 1 до 255 символов, без управляющих символов."
    ),
    "This Idempotency-Key was used with another request body; use a new key for a new request.": (
        "Этот Idempotency-Key уже использован с другим телом запроса; для нового запроса возьмите новый ключ."
    ),
    "A request with this Idempotency-Key is still being processed; retry shortly.": (
        "Запрос с этим Idempotency-Key ещё обрабатывается; повторите чуть позже."
    ),
    # --- catalogue ---
    "The product was changed since you read it; reload it and try again.": (
        "Товар изменили после того, как вы его загрузили; обновите его и повторите."
    ),
    "Unknown or retired warehouse items.": "Неизвестные или выведенные из оборота позиции склада.",
    "A category with this name already exists; choose another name.": (
        "Категория с таким названием уже есть; выберите другое."
    ),
    "No such category.": "Такой категории нет.",
    "Product not found.": "Товар не найден.",
    # --- couriers and deliveries ---
    "Delivery not found.": "Доставка не найдена.",
    "Deliveries go to couriers of this shop.": "Доставки назначаются только курьерам этого магазина.",
    "A pickup order has no courier.": "У заказа с самовывозом нет курьера.",
    "The order is “{status}”; a courier is assigned only while it is being prepared or is back "
    "from a failed delivery.": (
        "Заказ в статусе «{status}»; курьера назначают, только пока заказ готовится или вернулся после неудачной "
        "доставки."
    ),
    "The flowers are with the courier: send them out again, return them to the shop, or reassign.": (
        "Цветы у курьера: отправьте их снова, верните в магазин или передайте другому курьеру."
    ),
    "The delivery is “{status}”, so it cannot become “{target}” now; reload it to see its next step.": (
        "Доставка в статусе «{status}», перевести её в «{target}» сейчас нельзя; обновите её, чтобы увидеть "
        "следующий шаг."
    ),
    "This delivery was given to another courier; reload your deliveries.": (
        "Эту доставку передали другому курьеру; обновите список доставок."
    ),
    "Assign a courier before the delivery leaves the shop.": "Назначьте курьера, прежде чем доставка покинет магазин.",
    "The hand-over time is in the future: check the phone's clock, or send no completed_at.": (
        "Время передачи в будущем: проверьте часы телефона или не отправляйте completed_at."
    ),
    "Say what happened.": "Опишите, что случилось.",
    "A photo is taken at the door: the delivery has not left the shop.": (
        "Фото делают у двери получателя, а доставка ещё не выехала из магазина."
    ),
    # --- customers ---
    "Customer not found.": "Клиент не найден.",
    "This customer was anonymized; their record can no longer change.": (
        "Данные клиента обезличены; его запись больше нельзя изменить."
    ),
    "The customer was changed since you read them; reload and try again.": (
        "Клиента изменили после того, как вы его загрузили; обновите и повторите."
    ),
    "The customer has orders, which the books keep; anonymize the customer instead.": (
        "У клиента есть заказы, их хранит учёт; вместо удаления обезличьте клиента."
    ),
    "Date not found.": "Дата не найдена.",
    "No such day in that month.": "В этом месяце нет такого дня.",
    "Not a valid phone number.": "Неверный номер телефона.",
    "A customer with this phone already exists; open their record instead.": (
        "Клиент с таким телефоном уже есть; откройте его карточку."
    ),
    # --- messages and queues ---
    "the login code expired before it could be sent; a new one can be asked for": (
        "код для входа истёк, не успев отправиться; можно запросить новый"
    ),
    "the login code was lost with its job; a new one can be asked for": (
        "код для входа потерян вместе с задачей; можно запросить новый"
    ),
    "Message not found.": "Сообщение не найдено.",
    "This message was sent; it is not sent again.": "Это сообщение уже отправлено; повторно его не отправляют.",
    "This message is “{status}” right now; retry it once it has failed or is stuck.": (
        "Сообщение сейчас в статусе «{status}»; повторить можно, когда отправка не удалась или зависла."
    ),
    "This message changed meanwhile; reload it and try again.": (
        "Сообщение тем временем изменилось; обновите и повторите."
    ),
    "A login code is never sent again; ask for a new one.": "Код для входа повторно не отправляют; запросите новый.",
    "The customer was anonymized; nothing is sent to them.": "Данные клиента обезличены; ему ничего не отправляют.",
    "The customer no longer agrees to reminders.": "Клиент больше не согласен получать напоминания.",
    "The recipient no longer works in this shop.": "Получатель больше не работает в этом магазине.",
    "No {channel} address is known for this recipient any more; add one, then retry.": (
        "Адрес для канала «{channel}» у получателя больше не известен; добавьте его и повторите."
    ),
    "Redis is unavailable, so the queues cannot be read; try again shortly.": (
        "Redis недоступен, очереди прочитать нельзя; повторите чуть позже."
    ),
    # --- orders ---
    "Order not found.": "Заказ не найден.",
    "No such customer.": "Такого клиента нет.",
    "Some products are not on sale here; remove them from the order.": (
        "Некоторые товары здесь не продаются; уберите их из заказа."
    ),
    "The order is too large for the books; split it into several orders.": (
        "Заказ слишком большой для учёта; разделите его на несколько."
    ),
    "The pickup time has passed; choose another one.": "Время самовывоза уже прошло; выберите другое.",
    "The order is “{status}” and can no longer be changed; only new and confirmed orders change.": (
        "Заказ в статусе «{status}», его уже нельзя изменить; меняются только новые и подтверждённые заказы."
    ),
    "A delivery has a window, not a pickup time.": "У доставки есть окно, а не время самовывоза.",
    "A pickup has a time, not a window.": "У самовывоза есть время, а не окно доставки.",
    "The promo code {code} needs a subtotal of at least {minimum}; add items or remove the code.": (
        "Промокоду {code} нужна сумма заказа не меньше {minimum}; добавьте товары или уберите промокод."
    ),
    "Send If-Match with the ETag you read, so nobody's change is overwritten.": (
        "Отправьте If-Match с полученным ETag, чтобы не затереть чужие изменения."
    ),
    "The order was changed since you read it; reload it and try again.": (
        "Заказ изменили после того, как вы его загрузили; обновите его и повторите."
    ),
    "A pickup has no address.": "У самовывоза нет адреса.",
    "Say why the order is cancelled.": "Укажите причину отмены заказа.",
    "This provider payment is already recorded on another order.": "Этот платёж уже записан на другой заказ.",
    "A cancelled order takes no payments, only refunds.": "Отменённый заказ не принимает платежи, только возвраты.",
    "That is more than the amount due; check the amount.": "Это больше суммы к оплате; проверьте сумму.",
    "A refund cannot exceed what was paid.": "Возврат не может быть больше оплаченного.",
    "The order is “{status}”, so it cannot become “{target}”; reload it to see where it can go next.": (
        "Заказ в статусе «{status}», перевести его в «{target}» нельзя; обновите его, чтобы увидеть, "
        "куда он может перейти."
    ),
    # --- production ---
    "Production task not found.": "Задача не найдена.",
    "Tasks go to florists of this shop.": "Задачи назначаются только флористам этого магазина.",
    "The task is “{status}”; it is not given to a florist any more.": (
        "Задача в статусе «{status}»; её больше не назначают флористу."
    ),
    "A task in progress keeps a florist; give it to another one instead.": (
        "У задачи в работе должен быть флорист; передайте её другому флористу."
    ),
    "Another florist has this task.": "Эту задачу уже взял другой флорист.",
    "The task is “{status}”; only a pending task can be claimed.": (
        "Задача в статусе «{status}»; взять можно только ожидающую задачу."
    ),
    "The order is “{status}”; its tasks start only while it is confirmed or in production.": (
        "Заказ в статусе «{status}»; его задачи начинают, только когда он подтверждён или в работе."
    ),
    "Start the task before completing it.": "Сначала начните задачу, потом завершайте.",
    "The task was cancelled.": "Задачу отменили.",
    # --- promo codes ---
    "Promo code not found.": "Промокод не найден.",
    "A percent discount is at most 100.": "Скидка в процентах — не больше 100.",
    "The code must end after it starts.": "Промокод должен заканчиваться позже, чем начинается.",
    "A promo code with this code already exists; choose another text.": (
        "Такой промокод уже есть; выберите другой текст."
    ),
    "No such promo code.": "Такого промокода нет; проверьте написание.",
    "This promo code is switched off.": "Этот промокод выключен.",
    "This promo code is not valid yet.": "Этот промокод ещё не действует.",
    "This promo code has expired.": "Срок действия промокода истёк.",
    "The order total is below this promo code's minimum of {minimum}.": (
        "Сумма заказа меньше минимальной для этого промокода: {minimum}."
    ),
    "This promo code has been used up.": "Этот промокод уже израсходован.",
    # --- reports ---
    "The stock of a future day is not known yet; choose today or earlier.": (
        "Остатки на будущий день ещё неизвестны; выберите сегодня или раньше."
    ),
    "`from` is after `to`; swap the dates.": "`from` позже, чем `to`; поменяйте даты местами.",
    "The range is too long; shorten it.": "Период слишком длинный; сократите его.",
    # --- shops and delivery windows ---
    "Only a shop's admin may open another shop.": "Открыть ещё один магазин может только администратор магазина.",
    "Only the shop's admins change its settings.": "Настройки магазина меняют только его администраторы.",
    "The delivery window is full; choose another one.": "Окно доставки заполнено; выберите другое.",
    "The florists have {left} minutes left on {date}; this order needs {needed}.": (
        "У флористов осталось {left} мин. на {date}; этому заказу нужно {needed} мин."
    ),
    "The delivery window no longer takes orders; choose another one.": (
        "Окно доставки больше не принимает заказы; выберите другое."
    ),
    "The shop has no such delivery window on that date; choose one of its windows.": (
        "У магазина нет такого окна доставки в этот день; выберите одно из его окон."
    ),
    "The shop does not deliver on that date; choose another day.": (
        "Магазин не доставляет в этот день; выберите другой день."
    ),
    "The window overlaps another window that day.": "Окно пересекается с другим окном в этот день.",
    "The window ends after it starts.": "Окно должно заканчиваться позже, чем начинается.",
    "Delivery window not found.": "Окно доставки не найдено.",
    "Delivery window override not found.": "Особый день для окон доставки не найден.",
    "The delivery window was changed since you read it; reload it and try again.": (
        "Окно доставки изменили, пока вы его смотрели; обновите его и попробуйте снова."
    ),
    "The date's override was changed since you read it; reload it and try again.": (
        "Настройки окон на эту дату изменили, пока вы их смотрели; обновите их и попробуйте снова."
    ),
    "The override does not fit its mode or the day's windows.": (
        "Настройки даты не подходят к выбранному режиму или к окнам этого дня."
    ),
    "The date has an override already; change that one.": "У этой даты уже есть особые окна; измените их.",
    # --- images and files ---
    "The image has too many pixels: at most {megapixels} megapixels for a {kind}; shrink it.": (
        "В изображении слишком много пикселей: для {kind} не больше {megapixels} Мп; уменьшите его."
    ),
    "The image is larger than {megabytes} MB; send a smaller one.": (
        "Изображение больше {megabytes} МБ; отправьте файл поменьше."
    ),
    "Not an image; upload {formats}.": "Это не изображение; загрузите {formats}.",
    "The image has too many pixels; shrink it.": "В изображении слишком много пикселей; уменьшите его.",
    "The image is damaged or incomplete; upload it again.": (
        "Изображение повреждено или загружено не полностью; загрузите его снова."
    ),
    "File storage is unavailable; try again in a minute.": "Хранилище файлов недоступно; повторите через минуту.",
    # --- staff and invitations ---
    "User not found.": "Пользователь не найден.",
    "Managers manage florists and couriers only; admins manage every role.": (
        "Менеджеры управляют только флористами и курьерами; всеми ролями управляют администраторы."
    ),
    "A shop keeps at least one active admin: make someone else admin first.": (
        "В магазине должен остаться хотя бы один администратор: сначала назначьте администратором другого."
    ),
    "Only an admin links a person to the identity service.": (
        "Связать сотрудника с сервисом идентификации может только администратор."
    ),
    "Another account already has this phone.": "Этот телефон уже у другой учётной записи.",
    "Another account already has this e-mail.": "Этот e-mail уже у другой учётной записи.",
    "Another account is already linked to this external id.": "С этим внешним id уже связана другая учётная запись.",
    "This person is already on this shop's staff.": "Этот человек уже в штате магазина.",
    "This person also works in another shop; only they change their name, e-mail, language or identity link.": (
        "Этот сотрудник работает и в другом магазине; имя, e-mail, язык и связь с сервисом идентификации он меняет сам."
    ),
    "The e-mail is taken.": "Этот e-mail уже занят.",
    "The phone is not valid.": "Неверный номер телефона.",
    "This person was deactivated in this shop.": "Этого сотрудника отключили в этом магазине.",
    "This phone is already on this shop's staff or invited.": "Этот телефон уже в штате магазина или приглашён.",
    "Invitation not found.": "Приглашение не найдено.",
    "This invitation is “{status}”; only a waiting one can be revoked.": (
        "Приглашение в статусе «{status}»; отозвать можно только ожидающее ответа."
    ),
    "This invitation is “{status}”; it can no longer be answered. Ask the shop to invite you again.": (
        "Приглашение в статусе «{status}», ответить на него уже нельзя. Попросите магазин пригласить вас снова."
    ),
    "Give your current password.": "Укажите текущий пароль.",
    "The current password is wrong.": "Текущий пароль неверный.",
    # --- warehouse ---
    "Supply not found.": "Поставка не найдена.",
    "A delivery cannot be received in the future.": "Поставку нельзя принять будущей датой.",
    "Item not found.": "Позиция склада не найдена.",
    "An item with this name already exists; choose another name.": (
        "Позиция с таким названием уже есть; выберите другое."
    ),
    "Orders are taking these items right now; try again in a moment.": (
        "Эти позиции сейчас резервируют заказы; повторите через мгновение."
    ),
    "Unknown warehouse items.": "Неизвестные позиции склада.",
    "That would be more stock than the books can hold; check the quantity.": (
        "Столько остатка учёт не вмещает; проверьте количество."
    ),
    "Quantities must be positive.": "Количество должно быть больше нуля.",
    "A named batch is not a batch of that item.": "Указанная партия не относится к этой позиции.",
    "Not enough stock; receive a supply or change the order.": (
        "Не хватает остатков; примите поставку или измените заказ."
    ),
    "Stems this order held are gone (written off or counted missing) and no stock replaced them: "
    "receive a supply or change the order.": (
        "Цветов, зарезервированных за заказом, больше нет (списаны или не найдены при инвентаризации), "
        "и заменить их нечем: примите поставку или измените заказ."
    ),
    # --- the live event stream (app/events/stream.py) ---
    "The stream ticket is unknown, used, expired or its login ended; ask for a new one.": (
        "Билет потока неизвестен, уже использован, просрочен или его вход завершён; запросите новый."
    ),
    "The event stream is served by the events service, not by the API: route /api/v1/events/stream "
    "to it (docs/operations.md).": (
        "Поток событий обслуживает сервис событий, а не API: направьте /api/v1/events/stream к нему "
        "(docs/operations.md)."
    ),
    "This is the events service: it serves /api/v1/events/stream only; send other requests to the API.": (
        "Это сервис событий: он обслуживает только /api/v1/events/stream; остальные запросы отправляйте в API."
    ),
    "Last-Event-ID must be an event position.": "Last-Event-ID должен быть позицией события.",
    "The event stream is starting; try again shortly.": "Поток событий запускается; повторите чуть позже.",
    # --- webhooks (app/webhooks) ---
    "Webhook not found.": "Вебхук не найден.",
    "Webhook delivery not found.": "Отправка вебхука не найдена.",
    "This URL cannot receive webhooks; see errors.": "На этот адрес нельзя отправлять вебхуки; подробности в errors.",
    "The webhook is disabled; enable it first, then redeliver.": (
        "Вебхук отключён; сначала включите его, затем отправьте повторно."
    ),
    # --- integration keys and the storefront (app/apikeys, app/storefront) ---
    "Integration key not found.": "Ключ интеграции не найден.",
    "Send an integration key: Authorization: Bearer fcrm_...": (
        "Передайте ключ интеграции: Authorization: Bearer fcrm_..."
    ),
    "These endpoints take an integration key (fcrm_...), not a staff login token; an admin makes one "
    "at /api/v1/api-keys.": (
        "Эти адреса принимают ключ интеграции (fcrm_...), а не токен входа сотрудника; администратор создаёт "
        "ключ в /api/v1/api-keys."
    ),
    "The integration key is not valid.": "Ключ интеграции недействителен.",
    "This integration key has been revoked; ask the shop's admin for a new one.": (
        "Этот ключ интеграции отозван; попросите администратора магазина выдать новый."
    ),
    "This integration key lacks the scope {scope}; ask the shop's admin for a key that has it.": (
        "У этого ключа интеграции нет права {scope}; попросите администратора магазина выдать ключ с ним."
    ),
    "Too many requests with this integration key; wait as long as Retry-After says.": (
        "Слишком много запросов с этим ключом интеграции; подождите столько, сколько указано в Retry-After."
    ),
    "An integration key (fcrm_...) works only on the storefront endpoints; staff endpoints need a staff login.": (
        "Ключ интеграции (fcrm_...) работает только с адресами витрины; для адресов сотрудников нужен вход сотрудника."
    ),
    "This product is not on sale; remove it from the order.": "Этот товар не продаётся; уберите его из заказа.",
    "Not enough {item} in stock for this order; remove or change the products that need it.": (
        "Для этого заказа не хватает позиции «{item}» на складе; уберите или замените товары, где она нужна."
    ),
    "An order with this external_id was already sent with a different body; send a new external_id.": (
        "Заказ с этим external_id уже был отправлен с другим содержимым; отправьте новый external_id."
    ),
    # --- the bouquet's photo ---
    "Only the task's florist, a manager or an admin adds its photo.": (
        "Фото букета добавляет флорист этой задачи, менеджер или администратор."
    ),
    "The bouquet's photo is taken once its assembly has started.": "Фото букета делают, когда сборка уже начата.",
    # --- the tracking page's JSON ---
    "No such tracking link.": "Такой ссылки для отслеживания нет.",
    "This tracking link has expired.": "Ссылка для отслеживания больше не действует.",
    # --- standing orders ---
    "Standing order not found.": "Постоянный заказ не найден.",
    "Some fields of the template are not valid.": "Некоторые поля шаблона заказа заполнены неверно.",
    "The end comes before the start.": "Дата окончания раньше даты начала.",
    "That date has passed.": "Эта дата уже прошла.",
    "The series does not fall on that date.": "На эту дату постоянный заказ не приходится.",
    "The order for that date is made already; change or cancel the order itself.": (
        "Заказ на эту дату уже создан; измените или отмените сам заказ."
    ),
}
