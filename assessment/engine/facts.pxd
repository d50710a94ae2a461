# Read by Cython only (python -m assessment.engine_build): Facts as a C struct, so that the
# compiled engine reads its plain fields directly. Every field is a Python object, exactly as in
# facts.py; the instance keeps a __dict__ for the derived facts cached on first read.

cdef class Facts:
    cdef dict __dict__
    cdef public object findings
    cdef public object leader
    cdef public object age
    cdef public object sex
    cdef public object h
    cdef public object gestation
    cdef public object lesion
    cdef public object site
    cdef public object features
    cdef public object imaging
    cdef public object on_heel
    cdef public object on_foot
    cdef public object head_neck
    cdef public object whiteish
    cdef public object hard
    cdef public object size
    cdef public object multiple
    cdef public object painful
    cdef public object ulcerated
    cdef public object calcium_clinical
    cdef public object papular
    cdef public object wart_signs
    cdef public dict labs
    cdef public dict lab_flags


    # History answers, asked by the engine's compiled steps as C calls.
    cpdef yes(self, str key)
    cpdef no(self, str key)


# The derived facts' descriptor as a C type: Python calls its __get__ through the type's slot,
# with no method lookup (each assessment reads a dozen derived facts for the first time).
cdef class cached_property:
    cdef dict __dict__
    cdef readonly object fn
    cdef readonly str name
