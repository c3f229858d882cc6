from django.urls import path

from . import views

app_name = "directory"
urlpatterns = [
    path("", views.my_org, name="my_org"),
    path("people/<int:pk>/", views.person_detail, name="person"),
]
