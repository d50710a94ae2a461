# Read by Cython only (python -m assessment.engine_build): the engine's two per-rule classes as
# C structs, so that the compiled engine reads their fields directly instead of through
# Python's attribute lookup. core.py is unchanged and runs the same without this file.

from assessment.engine.facts cimport Facts

cdef class EntityScore:
    cdef public list against
    cdef public str code
    cdef public bint implausible
    cdef public bint qualified
    cdef public double score
    cdef public double specific_points
    cdef public list supporting
    cdef public bint wrong_age


cdef class Compiled:
    cdef public bint acts
    cdef public tuple downs
    cdef public dict entry
    cdef public object flag
    cdef public object gate
    cdef public str id
    cdef public object mask
    cdef public object option
    cdef public bint qualifies
    cdef public object refer_to
    cdef public object rule
    cdef public object sentence
    cdef public bint shared_against
    cdef public bint shared_for
    cdef public str source
    cdef public object static
    cdef public object text
    cdef public tuple ups
    cdef public object when
    cdef public object workup


cdef class State:
    cdef public object cited
    cdef public Facts facts
    cdef public list fired
    cdef public set fired_ids
    cdef public list flags
    cdef public dict not_needed
    cdef public list options
    cdef public dict scores
    cdef public list shared_against
    cdef public list shared_for
    cdef public dict workup

    # Called from the engine's own compiled steps: C calls, not Python method lookups.
    cpdef fire(self, str rule_id, str text, str source)
    cpdef add_workup(self, str code, str priority, str reason, str rule_id)



# What a fired rule writes: a C function, called as such by the compiled rule pass
# (rulecode.cython_source), and through its Python form by the interpreted one.
cpdef _apply(State state, Compiled c, str text, str sentence)
