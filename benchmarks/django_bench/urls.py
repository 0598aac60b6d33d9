from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path(
        "auth/login",
        auth_views.LoginView.as_view(template_name="django_bench/login.html"),
        name="login",
    ),
    path("auth/logout", auth_views.LogoutView.as_view(), name="logout"),
    path("bench/list", views.item_list, name="item-list"),
]
