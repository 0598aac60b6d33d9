"""Posts as JSON: a serializer, cursor pagination and a read-only viewset."""

from typing import Any

from rest_framework import pagination, serializers, viewsets

from .models import Post


class PostSerializer(serializers.ModelSerializer):  # type: ignore[misc]
    author = serializers.SerializerMethodField()

    class Meta:
        model = Post
        fields = ("id", "title", "body", "author", "created_at", "updated_at")

    def get_author(self, post: Post) -> dict[str, Any]:
        return {"id": post.author_id, "display_name": post.author.display_name}


class NewestFirst(pagination.CursorPagination):  # type: ignore[misc]
    page_size = 20
    max_page_size = 100
    page_size_query_param = "limit"
    ordering = ("-created_at", "-id")


class PostViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[misc]
    queryset = Post.objects.filter(hidden=False).select_related("author")
    serializer_class = PostSerializer
    pagination_class = NewestFirst
