from django.urls import path

from . import views

app_name = "provisioning"
urlpatterns = [
    path("", views.policy, name="policy"),
    path("review/", views.review_queue, name="review"),
    path("review/decide/", views.decide, name="decide"),
    path("preview/<int:pk>/", views.preview, name="preview"),
]
