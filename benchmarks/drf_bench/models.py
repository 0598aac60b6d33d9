"""The blog's posts and attachments and the storage's files, mapped by Django
(it does not manage them)."""

from django.db import models


class StoredFile(models.Model):  # type: ignore[misc]
    key = models.CharField(max_length=32)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.BigIntegerField()

    class Meta:
        db_table = "storage_files"
        managed = False


class Post(models.Model):  # type: ignore[misc]
    author_id = models.IntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    hidden = models.BooleanField()
    hidden_reason = models.CharField(max_length=500, null=True)

    class Meta:
        db_table = "blog_posts"
        managed = False


class Attachment(models.Model):  # type: ignore[misc]
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="attachments")
    file = models.ForeignKey(StoredFile, on_delete=models.CASCADE)

    class Meta:
        db_table = "blog_attachments"
        managed = False
