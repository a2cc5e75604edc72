"""The catalogue API: categories, products, images, recipes and cost."""

from __future__ import annotations

from flask import request
from flask.views import MethodView

from app.auth.access import MANAGERS, current_shop, shop_access
from app.catalogue import services
from app.catalogue.schemas import (
    CategoryCreateSchema,
    CategorySchema,
    ImageUploadSchema,
    ProductCostSchema,
    ProductCreateSchema,
    ProductQueryArgsSchema,
    ProductSchema,
    ProductUpdateSchema,
    RecipeSchema,
    RecipeUpdateSchema,
)
from app.common.api import Blueprint
from app.idempotency.decorators import idempotent
from app.users.models import Role
from app.warehouse.services import version_tag

CATALOGUE_READERS = (Role.ADMIN, Role.MANAGER, Role.FLORIST)
ETAG_HEADER = {"ETag": {"description": "The product's version, for If-Match.", "schema": {"type": "string"}}}
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "The ETag you read; 412 if the product changed since.",
}

categories_blp = Blueprint("categories", __name__, url_prefix="/api/v1/categories", description="Product categories.")
blp = Blueprint("products", __name__, url_prefix="/api/v1/products", description="Products, recipes, images, cost.")


def _actor_id() -> int:
    return current_shop().user.id


@categories_blp.route("")
class Categories(MethodView):
    @shop_access(*CATALOGUE_READERS)
    @categories_blp.response(200, CategorySchema(many=True))
    @categories_blp.paginate()
    def get(self, pagination_parameters):
        """The shop's categories, in display order."""
        categories, total = services.list_categories(
            shop_id=current_shop().shop_id, page=pagination_parameters.page, page_size=pagination_parameters.page_size
        )
        pagination_parameters.item_count = total
        return categories

    @shop_access(*MANAGERS)
    @idempotent
    @categories_blp.arguments(CategoryCreateSchema)
    @categories_blp.response(201, CategorySchema)
    @categories_blp.alt_response(409, description="A category with this name already exists.")
    def post(self, data):
        """Add a category."""
        return services.create_category(shop_id=current_shop().shop_id, actor_id=_actor_id(), **data)


@blp.route("")
class Products(MethodView):
    @shop_access(*CATALOGUE_READERS)
    @blp.arguments(ProductQueryArgsSchema, location="query")
    @blp.response(200, ProductSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Products by name; filter by category and whether on sale, `q` searches name and description."""
        products, total = services.list_products(
            shop_id=current_shop().shop_id,
            category_id=args.get("category_id"),
            active=args.get("active"),
            q=args.get("q"),
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return products

    @shop_access(*MANAGERS)
    @idempotent
    @blp.arguments(ProductCreateSchema)
    @blp.response(201, ProductSchema, headers=ETAG_HEADER)
    def post(self, data):
        """Add a product."""
        product = services.create_product(shop_id=current_shop().shop_id, actor_id=_actor_id(), data=data)
        return product, 201, {"ETag": version_tag(product)}


@blp.route("/<int:product_id>")
class ProductById(MethodView):
    @shop_access(*CATALOGUE_READERS)
    @blp.response(200, ProductSchema, headers=ETAG_HEADER)
    def get(self, product_id):
        """One product."""
        product = services.get_product(shop_id=current_shop().shop_id, product_id=product_id)
        return product, 200, {"ETag": version_tag(product)}

    @shop_access(*MANAGERS)
    @blp.arguments(ProductUpdateSchema)
    @blp.response(200, ProductSchema, headers=ETAG_HEADER)
    @blp.alt_response(412, description="If-Match does not match: the product changed since it was read.")
    @blp.doc(parameters=[IF_MATCH])
    def patch(self, data, product_id):
        """Change a product; send If-Match with the ETag you read to avoid overwriting someone's change."""
        product = services.update_product(
            shop_id=current_shop().shop_id,
            product_id=product_id,
            actor_id=_actor_id(),
            data=data,
            if_match=request.headers.get("If-Match"),
        )
        return product, 200, {"ETag": version_tag(product)}

    @shop_access(*MANAGERS)
    @blp.response(204)
    def delete(self, product_id):
        """Take a product out of the catalogue (orders that sold it keep it)."""
        services.archive_product(shop_id=current_shop().shop_id, product_id=product_id, actor_id=_actor_id())


@blp.route("/<int:product_id>/image")
class ProductImage(MethodView):
    @shop_access(*MANAGERS)
    @blp.arguments(ImageUploadSchema, location="files")
    @blp.response(200, ProductSchema, headers=ETAG_HEADER)
    @blp.alt_response(413, description="The image is larger than 10 MB.")
    @blp.alt_response(415, description="Not a JPEG, PNG or WebP image (checked by content).")
    @blp.alt_response(503, "SERVICE_UNAVAILABLE")
    def put(self, files, product_id):
        """Upload the product's image (multipart field `image`); EXIF is stripped, the old image removed."""
        product = services.set_product_image(
            shop_id=current_shop().shop_id, product_id=product_id, actor_id=_actor_id(), upload=files["image"].stream
        )
        return product, 200, {"ETag": version_tag(product)}


@blp.route("/<int:product_id>/recipe")
class ProductRecipe(MethodView):
    @shop_access(*CATALOGUE_READERS)
    @blp.response(200, RecipeSchema)
    def get(self, product_id):
        """What one product is made of."""
        return services.get_recipe(shop_id=current_shop().shop_id, product_id=product_id)

    @shop_access(*MANAGERS)
    @blp.arguments(RecipeUpdateSchema)
    @blp.response(200, RecipeSchema)
    def put(self, data, product_id):
        """Replace the recipe: items of this shop, positive quantities, each item once."""
        return services.set_recipe(
            shop_id=current_shop().shop_id, product_id=product_id, actor_id=_actor_id(), components=data["components"]
        )


@blp.route("/<int:product_id>/cost")
class ProductCost(MethodView):
    @shop_access(*CATALOGUE_READERS)
    @blp.response(200, ProductCostSchema)
    def get(self, product_id):
        """The cost of one more: components from the batches expiring first, margin, how many can be made."""
        return services.product_cost(shop_id=current_shop().shop_id, product_id=product_id)
