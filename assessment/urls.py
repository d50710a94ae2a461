from django.contrib.auth import views as auth_views
from django.urls import path

from . import api, views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True),
         name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("patients/", views.patient_list, name="patient-list"),
    path("patients/new/", views.patient_create, name="patient-create"),
    path("patients/<int:patient_pk>/", views.patient_detail, name="patient-detail"),
    path("patients/<int:patient_pk>/edit/", views.patient_edit, name="patient-edit"),
    path("patients/<int:patient_pk>/archive/", views.patient_archive, name="patient-archive"),
    path("patients/<int:patient_pk>/history/", views.patient_history, name="patient-history"),
    path("patients/<int:patient_pk>/encounters/new/", views.encounter_create,
         name="encounter-create"),
    path("patients/<int:patient_pk>/follow-up/", views.follow_up_create, name="follow-up-create"),
    path("lesions/<int:lesion_pk>/", views.lesion_timeline, name="lesion-timeline"),
    path("observations/<int:observation_pk>/edit/", views.observation_edit,
         name="observation-edit"),
    path("observations/<int:observation_pk>/photos/", views.photo_upload, name="photo-upload"),
    path("photos/<int:photo_pk>/", views.photo_view, name="photo"),
    path("encounters/<int:encounter_pk>/", views.encounter_detail, name="encounter-detail"),
    path("assessments/<int:assessment_pk>/", views.assessment_detail, name="assessment-detail"),
    path("assessments/<int:assessment_pk>/decision/", views.assessment_decide,
         name="assessment-decide"),
    path("assessments/<int:assessment_pk>/rerun/", views.assessment_rerun,
         name="assessment-rerun"),
    path("export/assessments.csv", views.export_assessments, name="export-assessments"),
    path("api/v1/assess", api.assess_view, name="api-assess"),
    path("ping", views.ping, name="ping"),
]
