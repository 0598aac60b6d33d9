"""Posts as JSON: serializers, cursor pagination and a read-only viewset,
answering what the api add-on answers for a post (its attachments too)."""

from typing import Any

from django.db.models import Prefetch
from rest_framework import pagination, serializers, viewsets

from .models import Attachment, Post


class AttachmentSerializer(serializers.ModelSerializer):  # type: ignore[misc]
    key = serializers.CharField(source="file.key")
    filename = serializers.CharField(source="file.filename")
    content_type = serializers.CharField(source="file.content_type")
    size = serializers.IntegerField(source="file.size")
    url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ("key", "filename", "content_type", "size", "url")

    def get_url(self, attachment: Attachment) -> Any:
        return self.context["request"].build_absolute_uri(f"/storage/files/{attachment.file.key}")


class PostSerializer(serializers.ModelSerializer):  # type: ignore[misc]
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Post
        fields = (
            "id",
            "title",
            "body",
            "author_id",
            "created_at",
            "updated_at",
            "hidden",
            "hidden_reason",
            "attachments",
        )


class NewestFirst(pagination.CursorPagination):  # type: ignore[misc]
    page_size = 20
    max_page_size = 100
    page_size_query_param = "limit"
    ordering = ("-created_at", "id")


class PostViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[misc]
    queryset = Post.objects.filter(hidden=False).prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.select_related("file"))
    )
    serializer_class = PostSerializer
    pagination_class = NewestFirst
