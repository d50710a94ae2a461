"""What leaves the registry for other systems: FHIR R4 (fhir.py), REDCap (redcap.py)."""
