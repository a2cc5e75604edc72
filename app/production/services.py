"""Production rules: tasks made when an order is confirmed, and the florists' steps that move the order on.

Locks, in the one order the orders service uses everywhere: the order row first, then its tasks,
then stock items (by the stock service). A step that may move the order (start, complete) locks
the order before the task, so two completes of an order's last task queue on the order row and
the second finds the stock already consumed. Claim and assign lock only the task row.

A step repeated after it was made (a tablet retrying) answers the task as it is, with no second
audit entry or history row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cache
from typing import IO, Any

from sqlalchemy import Row, Select, bindparam, exists, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from app import storage
from app.audit import services as audit
from app.catalogue.models import RecipeComponent
from app.common.pagination import FilteredList, paged
from app.common.schemas import Shaped, UserRefSchema
from app.common.shapes import Computed, Shape
from app.common.types import utcnow
from app.errors import ConflictError, NotFoundError, PermissionDenied, RuleViolation
from app.events import outbox
from app.events.models import Audience
from app.extensions import db
from app.orders import transitions
from app.orders.models import Order, OrderItem, OrderStatus
from app.production.models import OPEN_TASK_STATUSES, ProductionTask, TaskStatus, recipe_line
from app.production.schemas import ProductionTaskSchema, TaskOrderSchema
from app.shops.models import Shop
from app.shops.services import effective_settings
from app.storage import signed_url
from app.users import services as users
from app.users.models import Role, User
from app.warehouse import stock
from app.warehouse.models import Item

T = TaskStatus


# --- made by the order's lifecycle ---------------------------------------------------------------


def due_at(order: Order) -> datetime:
    """When the bouquet must be ready: the window start (or pickup time) less the shop's assembly lead time."""
    shop = db.session.get(Shop, order.shop_id)
    lead = int(effective_settings(shop)["assembly_lead_minutes"])
    return order.scheduled_at - timedelta(minutes=lead)


# A recipe's components, as `recipe_rows` and `lines_with_recipes` give them: (product_id, per_unit, item_id, name,
# unit).
_RECIPE_COLUMNS = (
    RecipeComponent.product_id,
    RecipeComponent.quantity.label("per_unit"),
    Item.id.label("item_id"),
    Item.name,
    Item.unit,
)


def recipe_rows(product_ids: set[int]) -> list[Row]:
    """The recipes of these products, one row per component with its item's name and unit, in one statement
    (`_RECIPE_COLUMNS`)."""
    if not product_ids:
        return []
    return db.session.execute(
        select(*_RECIPE_COLUMNS)
        .join(Item, Item.id == RecipeComponent.item_id)
        .where(RecipeComponent.product_id.in_(product_ids))
        .order_by(RecipeComponent.product_id, Item.name, Item.id)
    ).all()


# The order's lines with their products' recipes, for a confirm.
_LINES_WITH_RECIPES = (
    select(OrderItem, *_RECIPE_COLUMNS)
    .outerjoin(RecipeComponent, RecipeComponent.product_id == OrderItem.product_id)
    .outerjoin(Item, Item.id == RecipeComponent.item_id)
    .where(OrderItem.order_id == bindparam("order_id"))
    .order_by(OrderItem.id, Item.name, Item.id)
)


def lines_with_recipes(order: Order) -> list[Row]:
    """Confirming: the order's lines (into `order.items`) and their products' recipes, as `recipe_rows` gives them,
    in one statement. Read under the order's lock, so the lines are the ones the lock holder left."""
    lines: dict[int, OrderItem] = {}
    recipes, seen = [], set()
    for row in db.session.execute(_LINES_WITH_RECIPES, {"order_id": order.id}):
        lines.setdefault(row.OrderItem.id, row.OrderItem)
        if row.item_id is not None and (row.product_id, row.item_id) not in seen:  # each product's recipe once
            seen.add((row.product_id, row.item_id))
            recipes.append(row)
    set_committed_value(order, "items", list(lines.values()))
    return recipes


def _recipes(rows: list[Row], times: dict[int, int]) -> dict[int, list[dict[str, Any]]]:
    """Each planned product's recipe with the quantities for its line."""
    recipes: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row.product_id in times:
            recipes[row.product_id].append(
                recipe_line(
                    item_id=row.item_id,
                    name=row.name,
                    unit=row.unit,
                    per_unit=row.per_unit,
                    times=times[row.product_id],
                )
            )
    return recipes


def _task_audit(task: ProductionTask, action: str, actor_id: int | None, changes: dict[str, Any]) -> None:
    audit.record(
        shop_id=task.shop_id,
        actor_id=actor_id,
        action=action,
        entity_type="production_task",
        entity_id=task.id,
        changes=changes,
    )


def task_event(task: ProductionTask, type: str, *, customer_id: int | None, florist_id: int | None = None) -> None:
    """A `task.*` event for the task's florist after the change (every florist while it has none), with the task
    as GET /production-tasks/{id} answers it at the commit; or, to `florist_id` (a florist it was taken from),
    only its id."""
    outbox.record(
        type,
        shop_id=task.shop_id,
        subject_type="task",
        subject_id=task.id,
        audience=Audience.FLORIST,
        florist_id=task.florist_id if florist_id is None else florist_id,
        customer_id=customer_id,
        data=None if florist_id is None else {"id": str(task.id)},
    )


def _open_tasks(order_id: int) -> list[ProductionTask]:
    return list(
        db.session.scalars(
            select(ProductionTask)
            .where(ProductionTask.order_id == order_id, ProductionTask.status.in_(OPEN_TASK_STATUSES))
            .order_by(ProductionTask.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def plan_tasks(order: Order, *, actor_id: int | None, confirming: list[Row] | None = None) -> list[ProductionTask]:
    """Make the order's open tasks match its lines: one per line that needs assembly.

    Called under the order's row lock when the order is confirmed, and again when a confirmed order's
    lines, day, window or card change (its tasks are all still pending then: starting one moves the
    order on). A line already planned keeps its task and its florist; a line gone cancels its task.
    `confirming`: the order is being confirmed, with its lines' recipes already read (`recipe_rows`); a new order
    has no task yet, so none is read. Does not commit.
    """
    lines = {line.product_id: line for line in order.items if line.needs_assembly}
    rows = recipe_rows(set(lines)) if confirming is None else confirming
    recipes = _recipes(rows, {pid: line.quantity for pid, line in lines.items()})
    due = due_at(order)
    now = utcnow()
    planned = {} if confirming is not None else {task.product_id: task for task in _open_tasks(order.id)}
    tasks, created = [], []
    for product_id, task in planned.items():
        if product_id not in lines:
            _cancel(task, now, actor_id, reason="line removed")
            task_event(task, "task.cancelled", customer_id=order.customer_id)
    for product_id, line in lines.items():
        wanted = {
            "product_name": line.product_name,
            "quantity": line.quantity,
            "card_text": order.card_text or "",
            "recipe": recipes[product_id],
            "due_at": due,
        }
        task = planned.get(product_id)
        if task is None:
            task = ProductionTask(shop_id=order.shop_id, order_id=order.id, product_id=product_id, **wanted)
            db.session.add(task)
            created.append(task)
        else:
            changes = audit.apply_changes(task, wanted)
            if changes:
                if "card_text" in changes:  # personal: the log says it changed, not what it said
                    changes["card_text"] = ["***", "***"]
                _task_audit(task, "update", actor_id, changes)
                task_event(task, "task.updated", customer_id=order.customer_id)
        tasks.append(task)
    if created:
        db.session.flush()  # the new tasks' ids, from one INSERT; their audit goes in with the order's change
        for task in created:
            snapshot = audit.snapshot(task, ["order_id", "product_id", "product_name", "quantity", "due_at"])
            _task_audit(task, "create", actor_id, {**snapshot, "card_text": [None, "***"]})
            task_event(task, "task.created", customer_id=order.customer_id)
    return tasks


def _cancel(task: ProductionTask, now: datetime, actor_id: int | None, *, reason: str) -> None:
    before = task.status
    task.status = T.CANCELLED.value
    task.cancelled_at = now
    _task_audit(task, "cancel", actor_id, {"status": [before, task.status], "reason": [None, reason]})


def cancel_tasks(order: Order, *, actor_id: int | None) -> int:
    """Cancel the order's open tasks (the order is being cancelled, under its row lock); how many. Does not commit."""
    now = utcnow()
    tasks = _open_tasks(order.id)
    for task in tasks:
        _cancel(task, now, actor_id, reason="order cancelled")
        task_event(task, "task.cancelled", customer_id=order.customer_id)
    db.session.flush()
    return len(tasks)


def has_tasks(order_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(ProductionTask.order_id == order_id))))


# --- reading -------------------------------------------------------------------------------------


# The task's shape: the list, the card and every step's answer read it (plain Core statements, no ORM objects).
TASKS, ORDERS, USERS = (model.__table__.c for model in (ProductionTask, Order, User))
# One statement: the order's number and window, and the florist's name, come along in the join.
TASKS_FROM = ProductionTask.__table__.join(Order.__table__, ORDERS.id == TASKS.order_id).outerjoin(
    User.__table__, USERS.id == TASKS.florist_id
)
TASK = Shape(
    ProductionTaskSchema,
    TASKS_FROM,
    order=Shape(TaskOrderSchema, Order.__table__),
    florist=Shape(UserRefSchema, User.__table__),
    photo_url=Computed(signed_url, TASKS.photo_key),
)


TASK_CARDS = (
    TASK.select()
    .where(TASKS.id.in_(bindparam("ids", expanding=True)), TASKS.shop_id == bindparam("shop_id"))
    .order_by(TASKS.id)
)


@outbox.renderer("task")
def task_events_data(shop_id: int, task_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The tasks, as GET /production-tasks/{id} answers them, that `task.*` events carry: one statement."""
    tasks = TASK.read(TASK_CARDS, {"ids": [int(i) for i in task_ids], "shop_id": shop_id})
    return {str(task["id"]): task for task in tasks}


# The list's filters on bound parameters: its statements are built once for each combination (`FilteredList`).
TASK_LIST = FilteredList(
    TASK,
    {
        # A florist sees their own tasks and the unassigned ones; managers and admins see all.
        "visible_to_florist": or_(TASKS.florist_id == bindparam("viewer_id"), TASKS.florist_id.is_(None)),
        "statuses": TASKS.status.in_(bindparam("statuses", expanding=True)),
        "due_before": TASKS.due_at < bindparam("due_before"),
        "due_after": TASKS.due_at >= bindparam("due_after"),
        "florist_id": TASKS.florist_id == bindparam("florist_id"),
        "unassigned": TASKS.florist_id.is_(None),
        "assigned": TASKS.florist_id.is_not(None),
        "order_id": TASKS.order_id == bindparam("order_id"),
        "updated_since": TASKS.updated_at >= bindparam("updated_since"),
    },
    lambda where: paged(
        TASK.select(),
        ProductionTask.__table__,
        [TASKS.shop_id == bindparam("shop_id"), *where],
        (TASKS.due_at, TASKS.id),
    ),
)


def list_tasks(
    *,
    shop_id: int,
    viewer_id: int,
    viewer_role: Role,
    statuses: list[str] | None = None,
    due_before: datetime | None = None,
    due_after: datetime | None = None,
    florist_id: int | None = None,
    unassigned: bool | None = None,
    order_id: int | None = None,
    updated_since: datetime | None = None,
    page: int,
    page_size: int,
) -> tuple[list[Shaped], int]:
    """The workshop's tasks by due time, with their order and florist joined in, and the count: one statement."""
    filters = {
        "statuses": statuses,
        "due_before": due_before,
        "due_after": due_after,
        "florist_id": florist_id,
        "order_id": order_id,
        "updated_since": updated_since,
    }
    params = {name: value for name, value in filters.items() if value}
    names = [*params]
    if unassigned is not None:
        names.append("unassigned" if unassigned else "assigned")
    if viewer_role == Role.FLORIST:
        names.append("visible_to_florist")
        params["viewer_id"] = viewer_id
    return TASK_LIST.page(names, {"shop_id": shop_id, **params}, page=page, page_size=page_size)


TASK_CARD = TASK.select().where(TASKS.id == bindparam("task_id"), TASKS.shop_id == bindparam("shop_id"))


def get_task(*, shop_id: int, task_id: int, viewer_id: int | None, viewer_role: Role) -> Shaped:
    """One task; another shop's, or (for a florist) another florist's, is 404. After a step, the card its events
    carry (read once, whichever comes first: outbox.answered)."""
    task = outbox.rendered("task", shop_id, task_id)
    if task is None:
        found = TASK.read(TASK_CARD, {"task_id": task_id, "shop_id": shop_id})
        if not found:
            raise NotFoundError("Production task not found.")
        task = found[0]
        outbox.answered("task", shop_id, task_id, task)
    if viewer_role == Role.FLORIST and task["florist_id"] not in (None, viewer_id):
        raise NotFoundError("Production task not found.")
    return task


# --- the florists' steps -------------------------------------------------------------------------


@cache
def _task_lock_statement() -> Select:
    """The task row locked, its order's customer, and whether the order has other open tasks. Built once (an
    alias made per request cost more than the statement it builds), on first use, when every model is mapped."""
    other = aliased(ProductionTask)
    others_open = exists().where(
        other.order_id == ProductionTask.order_id, other.id != ProductionTask.id, other.status.in_(OPEN_TASK_STATUSES)
    )
    return (
        select(ProductionTask, Order.customer_id, others_open)
        .join(Order, Order.id == ProductionTask.order_id)
        .where(ProductionTask.id == bindparam("task_id"), ProductionTask.shop_id == bindparam("shop_id"))
        .with_for_update(of=ProductionTask)
        .execution_options(populate_existing=True)
    )


def _lock_task(shop_id: int, task_id: int) -> tuple[ProductionTask, int, bool]:
    """The task row locked, its order's customer (whose card text the task carries, for its events), and whether
    the order has other open tasks (exact under the order's lock, which every change of a task's status holds)."""
    found = db.session.execute(_task_lock_statement(), {"task_id": task_id, "shop_id": shop_id}).first()
    if found is None:
        raise NotFoundError("Production task not found.")
    return found[0], found[1], found[2]


@cache
def _order_of_task_locking() -> Select:
    # The order found through its task in the locking statement itself (a task never changes orders).
    order_of_task = (
        select(ProductionTask.order_id)
        .where(ProductionTask.id == bindparam("task_id"), ProductionTask.shop_id == bindparam("shop_id"))
        .scalar_subquery()
    )
    return transitions.locking(order_of_task)


def _lock_order_then_task(shop_id: int, task_id: int) -> tuple[Order, ProductionTask, bool]:
    """The task's order locked first, then the task: the lock order every order change uses. With the task, whether
    the order has other open tasks."""
    try:
        order = transitions.locked(_order_of_task_locking(), {"task_id": task_id, "shop_id": shop_id})
    except NotFoundError:
        raise NotFoundError("Production task not found.") from None
    task, _customer_id, others_open = _lock_task(shop_id, task_id)
    return order, task, others_open


def _state(task: ProductionTask) -> dict[str, Any]:
    return {"id": task.id, "status": task.status, "florist_id": task.florist_id}


def _refuse(
    task: ProductionTask, message: str, target: str, allowed: list[str], params: dict | None = None
) -> ConflictError:
    """The 409 of a step the task cannot take now, with the task's current state."""
    return ConflictError(
        message,
        errors={"status": {"from": task.status, "to": target, "allowed": allowed}, "task": _state(task)},
        params=params,
    )


def _hidden_from(task: ProductionTask, *, role: Role, user_id: int | None) -> bool:
    return role == Role.FLORIST and task.florist_id not in (None, user_id)


def _require_florist(shop_id: int, user_id: int) -> None:
    """An active florist of this shop, or 422 naming the field."""
    if not users.is_active_staff(shop_id=shop_id, user_id=user_id, role=Role.FLORIST):
        raise RuleViolation(
            "Tasks go to florists of this shop.", errors={"florist_id": ["No active florist of this shop."]}
        )


def _done(shop_id: int, task_id: int, viewer_id: int | None, viewer_role: Role, commit: bool) -> Shaped:
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return get_task(shop_id=shop_id, task_id=task_id, viewer_id=viewer_id, viewer_role=viewer_role)


@contextmanager
def _undo_on_error() -> Iterator[None]:
    """Roll back the request's changes when a rule says no halfway through."""
    try:
        yield
    except Exception:
        db.session.rollback()
        raise


def assign_task(
    *, shop_id: int, task_id: int, florist_id: int | None, actor_id: int | None, actor_role: Role, commit: bool = True
) -> Shaped:
    """A manager gives the task to a florist of the shop (or takes it back: `florist_id` None, before it starts)."""
    with _undo_on_error():
        if florist_id is not None:
            _require_florist(shop_id, florist_id)
        task, customer_id, _others_open = _lock_task(shop_id, task_id)
        if task.florist_id != florist_id:
            if not task.is_open:
                raise ConflictError(
                    "The task is “{status}”; it is not given to a florist any more.",
                    errors={"task": _state(task)},
                    params={"status": task.status},
                )
            if florist_id is None and task.status == T.IN_PROGRESS.value:
                raise ConflictError(
                    "A task in progress keeps a florist; give it to another one instead.",
                    errors={"florist_id": ["The task is in progress."], "task": _state(task)},
                )
            before = task.florist_id
            task.florist_id = florist_id
            task.assigned_at = utcnow() if florist_id is not None else None
            _task_audit(task, "assign", actor_id, {"florist_id": [before, florist_id]})
            task_event(task, "task.assigned", customer_id=customer_id)
            if before is not None and florist_id is not None:  # taken from a florist who no longer sees it
                task_event(task, "task.unassigned", customer_id=customer_id, florist_id=before)
        return _done(shop_id, task_id, actor_id, actor_role, commit)


def claim_task(*, shop_id: int, task_id: int, florist_id: int, commit: bool = True) -> Shaped:
    """A florist takes an unassigned task. Two claiming at once: the task row lock lets one win, the other gets 409."""
    with _undo_on_error():
        task, customer_id, _others_open = _lock_task(shop_id, task_id)
        if task.florist_id != florist_id:
            if task.florist_id is not None:
                raise ConflictError(
                    "Another florist has this task.",
                    errors={"florist_id": ["The task is assigned already."], "task": _state(task)},
                )
            if task.status != T.PENDING.value:
                raise ConflictError(
                    "The task is “{status}”; only a pending task can be claimed.",
                    errors={"task": _state(task)},
                    params={"status": task.status},
                )
            task.florist_id = florist_id
            task.assigned_at = utcnow()
            _task_audit(task, "claim", florist_id, {"florist_id": [None, florist_id]})
            task_event(task, "task.claimed", customer_id=customer_id)
        return _done(shop_id, task_id, florist_id, Role.FLORIST, commit)


def start_task(*, shop_id: int, task_id: int, actor_id: int | None, actor_role: Role, commit: bool = True) -> Shaped:
    """The florist starts assembling (an unassigned task becomes theirs); the order's first start moves it
    from confirmed to in production. Admins and managers may start a task on a florist's behalf."""
    with _undo_on_error():
        order, task, _others_open = _lock_order_then_task(shop_id, task_id)
        if _hidden_from(task, role=actor_role, user_id=actor_id):
            raise NotFoundError("Production task not found.")
        if task.status == T.PENDING.value:
            if order.status not in (OrderStatus.CONFIRMED.value, OrderStatus.IN_PRODUCTION.value):
                raise _refuse(
                    task,
                    "The order is “{status}”; its tasks start only while it is confirmed or in production.",
                    T.IN_PROGRESS.value,
                    [],
                    params={"status": order.status},
                )
            now = utcnow()
            changes: dict[str, Any] = {"status": [task.status, T.IN_PROGRESS.value]}
            if task.florist_id is None and actor_role == Role.FLORIST:
                task.florist_id, task.assigned_at = actor_id, now
                changes["florist_id"] = [None, actor_id]
            task.status, task.started_at = T.IN_PROGRESS.value, now
            _task_audit(task, "start", actor_id, changes)
            task_event(task, "task.started", customer_id=order.customer_id)
            if order.status == OrderStatus.CONFIRMED.value:
                transitions.move(
                    order=order,
                    target=OrderStatus.IN_PRODUCTION,
                    actor_id=actor_id,
                    comment=f"{task.product_name}: assembly started",
                )
        elif task.status == T.CANCELLED.value:
            raise _refuse(task, "The task was cancelled.", T.IN_PROGRESS.value, [])
        # in progress or done already: a retry, answered as it is
        return _done(shop_id, task_id, actor_id, actor_role, commit)


def complete_task(*, shop_id: int, task_id: int, actor_id: int | None, actor_role: Role, commit: bool = True) -> Shaped:
    """The bouquet is made. The order's last task consumes its reserved stock (expiring batches first,
    cost of goods on the order) and makes the order ready, once, under the order's row lock."""
    with _undo_on_error():
        order, task, others_open = _lock_order_then_task(shop_id, task_id)
        if _hidden_from(task, role=actor_role, user_id=actor_id):
            raise NotFoundError("Production task not found.")
        if task.status == T.PENDING.value:
            raise _refuse(task, "Start the task before completing it.", T.DONE.value, [T.IN_PROGRESS.value])
        if task.status == T.CANCELLED.value:
            raise _refuse(task, "The task was cancelled.", T.DONE.value, [])
        if task.status == T.IN_PROGRESS.value:
            last = not others_open and order.status == OrderStatus.IN_PRODUCTION.value
            # The stock first: its flush goes before the task's own changes, which then go in with the order's.
            cost = stock.consume(shop_id=shop_id, order_id=order.id, actor_id=actor_id) if last else None
            task.status, task.completed_at = T.DONE.value, utcnow()
            _task_audit(task, "complete", actor_id, {"status": [T.IN_PROGRESS.value, T.DONE.value]})
            task_event(task, "task.completed", customer_id=order.customer_id)
            if cost is not None:
                audit.record(
                    shop_id=shop_id,
                    actor_id=actor_id,
                    action="consume",
                    entity_type="order",
                    entity_id=order.id,
                    changes={"cost_of_goods": [None, str(cost)]},
                )
                order.cost_of_goods = cost
                transitions.move(
                    order=order, target=OrderStatus.READY, actor_id=actor_id, comment="all bouquets assembled"
                )
        return _done(shop_id, task_id, actor_id, actor_role, commit)


def forget_card_texts(*, shop_id: int, order_ids: list[int]) -> int:
    """The customer is anonymized: the card text copied onto their orders' tasks goes too. Does not commit."""
    tasks = db.session.scalars(
        select(ProductionTask)
        .where(
            ProductionTask.shop_id == shop_id, ProductionTask.order_id.in_(order_ids), ProductionTask.card_text != ""
        )
        .order_by(ProductionTask.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    for task in tasks:
        task.card_text = ""
    return len(tasks)


# --- the bouquet's photo -------------------------------------------------------------------------

PHOTO_TASK_STATUSES = (T.IN_PROGRESS.value, T.DONE.value)


def set_photo(*, shop_id: int, task_id: int, actor_id: int, actor_role: Role, upload: IO[bytes]) -> Shaped:
    """The florist's photo of the finished bouquet, checked and cleaned like a proof photo (EXIF gone), stored
    under a private key (signed links only). The task's florist, managers and admins; a new photo replaces the
    old. A florist's photo of another's task is 404 (they cannot see it), of an unassigned one 403."""
    image = storage.clean_image(upload, field="photo")  # before any lock: decoding takes a moment
    with _undo_on_error():
        task, customer_id, _others_open = _lock_task(shop_id, task_id)
        if _hidden_from(task, role=actor_role, user_id=actor_id):
            raise NotFoundError("Production task not found.")
        if actor_role == Role.FLORIST and task.florist_id != actor_id:
            raise PermissionDenied(
                "Only the task's florist, a manager or an admin adds its photo.", errors={"florist_id": [None]}
            )
        if task.status not in PHOTO_TASK_STATUSES:
            raise _refuse(
                task, "The bouquet's photo is taken once its assembly has started.", "photo", list(PHOTO_TASK_STATUSES)
            )
        key = storage.new_key(f"shops/{shop_id}/tasks/{task.id}", image.extension)
        storage.get_storage().save(key, image.data, image.content_type)
        old_key, task.photo_key = task.photo_key, key
        task.photo_uploaded_at = task.updated_at = utcnow()
        _task_audit(task, "photo", actor_id, {"photo_key": [old_key, key]})
        task_event(task, "task.photo_added", customer_id=customer_id)
        storage.delete_after_commit(old_key)
        try:
            db.session.commit()
        except Exception:
            storage.delete_quietly(key)
            raise
    return get_task(shop_id=shop_id, task_id=task_id, viewer_id=actor_id, viewer_role=actor_role)


def forget_photos(*, shop_id: int, order_ids: list[int]) -> list[str]:
    """The customer is anonymized: the bouquets' photos of their orders go (a photo may show the card's text).
    Does not commit; returns the stored keys, for the caller to delete once it has committed."""
    tasks = db.session.scalars(
        select(ProductionTask)
        .where(
            ProductionTask.shop_id == shop_id,
            ProductionTask.order_id.in_(order_ids),
            ProductionTask.photo_key.is_not(None),
        )
        .order_by(ProductionTask.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    keys = [task.photo_key for task in tasks if task.photo_key]
    for task in tasks:
        task.photo_key = None
    return keys
