from rest_framework import routers

from .views import PostViewSet

router = routers.SimpleRouter(trailing_slash=False)
router.register("api/v1/posts", PostViewSet)
urlpatterns = router.urls
