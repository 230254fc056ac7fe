"""A minimal Django project serving django-helpdesk as the benchmark's peer."""
